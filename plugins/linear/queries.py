"""Every GraphQL document the Linear plugin sends (module constants, listed in DOCUMENTS).

The contract test validates each one against Linear's schema (``shared/specs/linear.graphql``,
the SDK's schema.graphql).
"""
from __future__ import annotations

# The issue fields every issue-returning operation selects.
_ISSUE = """
    id
    identifier
    title
    description
    url
    priority
    priorityLabel
    estimate
    dueDate
    createdAt
    updatedAt
    completedAt
    canceledAt
    archivedAt
    state { id name type }
    team { id key name }
    assignee { id name email }
    project { id name }
    labels { nodes { id name } }
"""
_PAGE = "pageInfo { hasNextPage endCursor }"

HEALTH_CHECK = "query HealthCheck { viewer { id } }"

CREATE_ISSUE = f"""
mutation CreateIssue($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{{_ISSUE}}} }}
}}
"""

UPDATE_ISSUE = f"""
mutation UpdateIssue($id: String!, $input: IssueUpdateInput!) {{
  issueUpdate(id: $id, input: $input) {{ success issue {{{_ISSUE}}} }}
}}
"""

ADD_COMMENT = """
mutation AddComment($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    success
    comment { id body url createdAt user { id name } issue { id identifier } parent { id } }
  }
}
"""

GET_ISSUE = f"""
query GetIssue($id: String!) {{
  issue(id: $id) {{{_ISSUE}}}
}}
"""

LIST_ISSUES = f"""
query ListIssues($filter: IssueFilter, $first: Int, $after: String,
                 $orderBy: PaginationOrderBy, $includeArchived: Boolean) {{
  issues(filter: $filter, first: $first, after: $after, orderBy: $orderBy,
         includeArchived: $includeArchived) {{
    nodes {{{_ISSUE}}}
    {_PAGE}
  }}
}}
"""

SEARCH_ISSUES = f"""
query SearchIssues($term: String!, $teamId: String, $includeComments: Boolean, $first: Int,
                   $after: String) {{
  searchIssues(term: $term, teamId: $teamId, includeComments: $includeComments, first: $first,
               after: $after) {{
    nodes {{{_ISSUE}}}
    {_PAGE}
  }}
}}
"""

LIST_TEAMS = f"""
query ListTeams($first: Int, $after: String) {{
  teams(first: $first, after: $after) {{
    nodes {{ id key name description private }}
    {_PAGE}
  }}
}}
"""

LIST_WORKFLOW_STATES = f"""
query ListWorkflowStates($filter: WorkflowStateFilter, $first: Int, $after: String) {{
  workflowStates(filter: $filter, first: $first, after: $after) {{
    nodes {{ id name type color position team {{ id key }} }}
    {_PAGE}
  }}
}}
"""

DOCUMENTS = (HEALTH_CHECK, CREATE_ISSUE, UPDATE_ISSUE, ADD_COMMENT, GET_ISSUE, LIST_ISSUES,
             SEARCH_ISSUES, LIST_TEAMS, LIST_WORKFLOW_STATES)
