"""Webhook deliveries of the GitLab triggers (pure data).

Copied from GitLab's reference, https://docs.gitlab.com/user/project/integrations/webhook_events/
(``doc/user/project/integrations/webhook_events.md``), trimmed of repeated project blocks; the
"closed", "merged" and "failed" variants change only the fields GitLab changes for them.
"""
from __future__ import annotations

import copy
from typing import Any

_AVATAR = "http://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=40&d=identicon"
_USER = {"id": 1, "name": "Administrator", "username": "root", "avatar_url": _AVATAR,
         "email": "admin@example.com"}
_PROJECT = {"id": 1, "name": "Gitlab Test", "description": "Aut reprehenderit ut est.",
            "web_url": "http://example.com/gitlabhq/gitlab-test", "avatar_url": None,
            "git_ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
            "git_http_url": "http://example.com/gitlabhq/gitlab-test.git",
            "namespace": "GitlabHQ", "visibility_level": 20,
            "path_with_namespace": "gitlabhq/gitlab-test", "default_branch": "master",
            "ci_config_path": None, "homepage": "http://example.com/gitlabhq/gitlab-test",
            "url": "http://example.com/gitlabhq/gitlab-test.git",
            "ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
            "http_url": "http://example.com/gitlabhq/gitlab-test.git"}
_REPOSITORY = {"name": "Gitlab Test", "url": "http://example.com/gitlabhq/gitlab-test.git",
               "description": "Aut reprehenderit ut est.",
               "homepage": "http://example.com/gitlabhq/gitlab-test"}
_LABEL = {"id": 206, "title": "API", "color": "#ffffff", "project_id": 14,
          "created_at": "2013-12-03T17:15:43Z", "updated_at": "2013-12-03T17:15:43Z",
          "template": False, "description": "API related issues", "type": "ProjectLabel",
          "group_id": 41}
_ASSIGNEE = {"name": "User1", "username": "user1", "avatar_url": _AVATAR}


def _with(payload: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out["object_attributes"].update(attributes)
    return out


ISSUE_OPENED: dict[str, Any] = {
    "object_kind": "issue",
    "event_type": "issue",
    "user": _USER,
    "project": _PROJECT,
    "object_attributes": {
        "id": 301, "title": "New API: create/update/delete file", "assignee_ids": [51],
        "assignee_id": 51, "author_id": 51, "project_id": 14,
        "created_at": "2013-12-03T17:15:43Z", "updated_at": "2013-12-03T17:15:43Z",
        "updated_by_id": 1, "last_edited_at": None, "last_edited_by_id": None,
        "relative_position": 0, "description": "Create new API for manipulations with repository",
        "milestone_id": None, "state_id": 1, "confidential": False, "discussion_locked": True,
        "due_date": None, "moved_to_id": None, "duplicated_to_id": None, "time_estimate": 0,
        "total_time_spent": 0, "time_change": 0, "human_total_time_spent": None,
        "human_time_estimate": None, "human_time_change": None, "weight": None,
        "health_status": "at_risk", "type": "Issue", "iid": 23,
        "url": "http://example.com/diaspora/issues/23", "state": "opened", "action": "open",
        "severity": "high", "labels": [_LABEL],
    },
    "repository": _REPOSITORY,
    "assignees": [_ASSIGNEE],
    "assignee": _ASSIGNEE,
    "labels": [_LABEL],
    "changes": {"updated_by_id": {"previous": None, "current": 1},
                "updated_at": {"previous": "2017-09-15 16:50:55 UTC",
                               "current": "2017-09-15 16:52:00 UTC"}},
}
ISSUE_CLOSED = _with(ISSUE_OPENED, state="closed", state_id=2, action="close",
                     closed_at="2017-09-15 16:52:00 UTC")

MERGE_REQUEST_OPENED: dict[str, Any] = {
    "object_kind": "merge_request",
    "event_type": "merge_request",
    "user": _USER,
    "project": _PROJECT,
    "repository": _REPOSITORY,
    "object_attributes": {
        "id": 99, "iid": 1, "target_branch": "master", "source_branch": "ms-viewport",
        "source_project_id": 14, "author_id": 51, "assignee_ids": [6], "assignee_id": 6,
        "reviewer_ids": [6], "title": "MS-Viewport", "created_at": "2013-12-03T17:23:34Z",
        "updated_at": "2013-12-03T17:23:34Z", "last_edited_at": "2013-12-03T17:23:34Z",
        "last_edited_by_id": 1, "milestone_id": None, "state_id": 1, "state": "opened",
        "blocking_discussions_resolved": True, "work_in_progress": False, "draft": False,
        "first_contribution": True, "merge_status": "unchecked", "target_project_id": 14,
        "description": "", "prepared_at": "2013-12-03T19:23:34Z", "total_time_spent": 1800,
        "time_change": 30, "human_total_time_spent": "30m", "human_time_change": "30s",
        "human_time_estimate": "30m", "url": "http://example.com/diaspora/merge_requests/1",
        "last_commit": {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                        "message": "fixed readme", "title": "Update file README.md",
                        "timestamp": "2012-01-03T23:36:29+02:00",
                        "url": "http://example.com/awesome_space/awesome_project/commits/"
                               "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                        "author": {"name": "GitLab dev user",
                                   "email": "gitlabdev@dv6700.(none)"}},
        "labels": [_LABEL], "action": "open", "detailed_merge_status": "mergeable",
    },
    "labels": [_LABEL],
    "changes": {"updated_by_id": {"previous": None, "current": 1},
                "draft": {"previous": True, "current": False}},
    "assignees": [{"id": 6, **_ASSIGNEE}],
    "reviewers": [{"id": 6, **_ASSIGNEE}],
}
MERGE_REQUEST_MERGED = _with(MERGE_REQUEST_OPENED, state="merged", state_id=3, action="merge",
                             merge_status="can_be_merged", detailed_merge_status="not_open")

NOTE_CREATED: dict[str, Any] = {
    "object_kind": "note",
    "event_type": "note",
    "user": _USER,
    "project_id": 5,
    "project": {**_PROJECT, "id": 5, "path_with_namespace": "gitlab-org/gitlab-test",
                "web_url": "http://example.com/gitlab-org/gitlab-test"},
    "repository": {"name": "diaspora", "url": "git@example.com:mike/diaspora.git",
                   "description": "", "homepage": "http://example.com/mike/diaspora"},
    "object_attributes": {
        "id": 1241, "note": "Hello world", "noteable_type": "Issue", "author_id": 1,
        "created_at": "2015-05-17 17:06:40 UTC", "updated_at": "2015-05-17 17:06:40 UTC",
        "project_id": 5, "attachment": None, "line_code": None, "commit_id": "",
        "noteable_id": 92, "system": False, "st_diff": None, "action": "create",
        "url": "http://example.com/gitlab-org/gitlab-test/issues/17#note_1241",
    },
    "issue": {
        "id": 92, "title": "test", "assignee_ids": [], "assignee_id": None, "author_id": 1,
        "project_id": 5, "created_at": "2015-04-12 14:53:17 UTC",
        "updated_at": "2015-04-26 08:28:42 UTC", "position": 0, "branch_name": None,
        "description": "test", "milestone_id": None, "state": "closed", "iid": 17,
        "labels": [],
    },
}

PIPELINE_FINISHED: dict[str, Any] = {
    "object_kind": "pipeline",
    "object_attributes": {
        "id": 31, "iid": 3, "name": "Pipeline for branch: master", "ref": "master",
        "tag": False, "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        "before_sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        "source": "merge_request_event", "status": "success",
        "stages": ["build", "test", "deploy"], "created_at": "2016-08-12 15:23:28 UTC",
        "finished_at": "2016-08-12 15:26:29 UTC", "duration": 63,
        "variables": [{"key": "NESTOR_PROD_ENVIRONMENT", "value": "us-west-1"}],
        "url": "http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
    },
    "merge_request": {"id": 1, "iid": 1, "title": "Test", "source_branch": "test",
                      "source_project_id": 1, "target_branch": "master", "target_project_id": 1,
                      "state": "opened", "merge_status": "can_be_merged",
                      "detailed_merge_status": "mergeable",
                      "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/merge_requests/1"},
    "user": {**_USER, "email": "user_email@gitlab.com"},
    "project": {"id": 1, "name": "Gitlab Test",
                "description": "Atque in sunt eos similique dolores voluptatem.",
                "web_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test", "avatar_url": None,
                "git_ssh_url": "git@192.168.64.1:gitlab-org/gitlab-test.git",
                "git_http_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test.git",
                "namespace": "Gitlab Org", "visibility_level": 20,
                "path_with_namespace": "gitlab-org/gitlab-test", "default_branch": "master"},
    "commit": {"id": "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "message": "test\n",
               "timestamp": "2016-08-12T17:23:21+02:00",
               "url": "http://example.com/gitlab-org/gitlab-test/commit/"
                      "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
               "author": {"name": "User", "email": "user@gitlab.com"}},
    "builds": [
        {"id": 377, "stage": "test", "name": "test-image", "status": "success",
         "created_at": "2016-08-12 15:23:28 UTC", "started_at": "2016-08-12 15:26:12 UTC",
         "finished_at": "2016-08-12 15:26:29 UTC", "duration": 17.0, "queued_duration": 196.0,
         "failure_reason": None, "when": "on_success", "manual": False, "allow_failure": False,
         "user": _USER, "runner": None, "artifacts_file": {"filename": None, "size": None},
         "environment": None},
    ],
}

PUSH: dict[str, Any] = {
    "object_kind": "push",
    "event_name": "push",
    "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "ref": "refs/heads/master",
    "ref_protected": True,
    "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "user_id": 4,
    "user_name": "John Smith",
    "user_username": "jsmith",
    "user_email": "john@example.com",
    "user_avatar": "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
    "project_id": 15,
    "project": {"id": 15, "name": "Diaspora", "description": "",
                "web_url": "http://example.com/mike/diaspora", "avatar_url": None,
                "git_ssh_url": "git@example.com:mike/diaspora.git",
                "git_http_url": "http://example.com/mike/diaspora.git", "namespace": "Mike",
                "visibility_level": 0, "path_with_namespace": "mike/diaspora",
                "default_branch": "master", "homepage": "http://example.com/mike/diaspora",
                "url": "git@example.com:mike/diaspora.git",
                "ssh_url": "git@example.com:mike/diaspora.git",
                "http_url": "http://example.com/mike/diaspora.git"},
    "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git",
                   "description": "", "homepage": "http://example.com/mike/diaspora",
                   "git_http_url": "http://example.com/mike/diaspora.git",
                   "git_ssh_url": "git@example.com:mike/diaspora.git", "visibility_level": 0},
    "commits": [
        {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
         "message": "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/"
                    "gitlab for more information",
         "title": "Update Catalan translation to e38cb41.",
         "timestamp": "2011-12-12T14:27:31+02:00",
         "url": "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
         "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
         "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []},
        {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme",
         "title": "fixed readme", "timestamp": "2012-01-03T23:36:29+02:00",
         "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
         "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
         "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []},
    ],
    "total_commits_count": 4,
}
