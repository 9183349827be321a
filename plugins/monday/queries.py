"""Every GraphQL document the monday.com plugin sends (module constants, listed in DOCUMENTS).

Written for API version 2025-04, the version ``shared/specs/monday.graphql`` was published with
(it has that version's additions, such as ``invite_users`` and ``users.custom_field_metas``, and
none of 2025-07's). The contract test validates each one against that schema.
"""
from __future__ import annotations

# The item fields every item-returning operation selects.
_ITEM = """
    id
    name
    state
    url
    created_at
    updated_at
    board { id }
    group { id title }
    column_values { id type text value }
"""

_BOARD = """
    id
    name
    description
    state
    board_kind
    type
    workspace_id
    url
    updated_at
    items_count
"""

HEALTH_CHECK = "query HealthCheck { me { id } }"

CREATE_ITEM = f"""
mutation CreateItem($boardId: ID!, $itemName: String!, $groupId: String, $columnValues: JSON,
                    $createLabels: Boolean) {{
  create_item(board_id: $boardId, item_name: $itemName, group_id: $groupId,
              column_values: $columnValues, create_labels_if_missing: $createLabels) {{{_ITEM}}}
}}
"""

CHANGE_COLUMN_VALUES = f"""
mutation ChangeColumnValues($boardId: ID!, $itemId: ID!, $columnValues: JSON!,
                            $createLabels: Boolean) {{
  change_multiple_column_values(board_id: $boardId, item_id: $itemId,
                                column_values: $columnValues,
                                create_labels_if_missing: $createLabels) {{{_ITEM}}}
}}
"""

MOVE_ITEM_TO_GROUP = f"""
mutation MoveItemToGroup($itemId: ID!, $groupId: String!) {{
  move_item_to_group(item_id: $itemId, group_id: $groupId) {{{_ITEM}}}
}}
"""

CREATE_UPDATE = """
mutation CreateUpdate($itemId: ID!, $body: String!, $parentId: ID) {
  create_update(item_id: $itemId, body: $body, parent_id: $parentId) {
    id body text_body created_at item_id creator_id
  }
}
"""

LIST_BOARDS = f"""
query ListBoards($limit: Int!, $page: Int!, $state: State, $kind: BoardKind,
                 $workspaceIds: [ID]) {{
  boards(limit: $limit, page: $page, state: $state, board_kind: $kind,
         workspace_ids: $workspaceIds, order_by: used_at) {{{_BOARD}}}
}}
"""

GET_BOARD = f"""
query GetBoard($boardId: ID!) {{
  boards(ids: [$boardId]) {{{_BOARD}
    groups {{ id title color position archived }}
    columns {{ id title type settings_str }}
  }}
}}
"""

GET_ITEM = f"""
query GetItem($itemId: ID!) {{
  items(ids: [$itemId]) {{{_ITEM}}}
}}
"""

# The first page of a board's items (with the filter); later pages follow the cursor at the root,
# which costs less complexity than items_page under boards (monday's advice).
GET_ITEMS = f"""
query GetItems($boardId: ID!, $limit: Int!, $query: ItemsQuery) {{
  boards(ids: [$boardId]) {{
    items_page(limit: $limit, query_params: $query) {{ cursor items {{{_ITEM}}} }}
  }}
}}
"""

NEXT_ITEMS = f"""
query NextItems($cursor: String!, $limit: Int!) {{
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor items {{{_ITEM}}} }}
}}
"""

DOCUMENTS = (HEALTH_CHECK, CREATE_ITEM, CHANGE_COLUMN_VALUES, MOVE_ITEM_TO_GROUP, CREATE_UPDATE,
             LIST_BOARDS, GET_BOARD, GET_ITEM, GET_ITEMS, NEXT_ITEMS)
