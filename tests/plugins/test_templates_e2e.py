"""Every available template runs end to end: instantiated through the API with a connection per
service pointed at that service's contract server (Prism serving the vendor's spec, or the
plugin's documented fake), executed with the template's sample payload, and every step that
the payload leads to succeeds, with the vendor (Prism) accepting every request.

Parametrised over the templates, so a new template is run without editing this file. Prism
processes are per worker and session (tests/plugins/conftest.py), so a spec the plugin's own
tests already started on a worker is not started again there.
"""
from __future__ import annotations

import importlib
import threading
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest

from atom.engine.templates import TEMPLATES
from tests.plugins.test_contract import sample

pytestmark = pytest.mark.prism


class _Echo(BaseHTTPRequestHandler):
    """The generic HTTP integration's counterpart: answers every request with 200 JSON."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


def _http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]

    def stop():
        server.shutdown()
        server.server_close()

    return {"base_url": f"http://{host}:{port}"}, {"auth": "none"}, stop


@pytest.fixture(scope="module")
def servers(prism):
    """``slug -> (settings, credentials)`` of each service's contract server, started once."""
    started: dict[str, tuple[dict, dict]] = {}
    with ExitStack() as stack:
        def get(manifest) -> tuple[dict, dict]:
            if manifest.slug not in started:
                contract = manifest.contract
                creds = sample(manifest.auth.fields, manifest.auth)
                if manifest.slug == "http":
                    settings, creds, stop = _http_server()
                    stack.callback(stop)
                elif contract.source == "openapi":
                    settings = {**contract.settings, "base_url":
                                prism(contract.file.removesuffix(".json")) + contract.base_path}
                elif contract.source in ("fake", "moto"):
                    module = (contract.file.removesuffix(".py").replace("/", ".") if contract.file
                              else UNNAMED_FAKES[manifest.slug])
                    fake = importlib.import_module(module).contract_fake()
                    stack.callback(fake.stop)
                    settings, creds = {**contract.settings, **fake.settings}, fake.credentials
                elif contract.source == "graphql":
                    from tests.plugins.graphql_support import MockGraphQLServer

                    server = MockGraphQLServer(contract.file)
                    stack.callback(server.stop)
                    settings = {**contract.settings, "base_url": server.url + "/"}
                else:
                    pytest.fail(f"no contract server for {manifest.slug} ({contract.source})")
                started[manifest.slug] = ({**settings, "max_attempts": 1,
                                           "rate_limit_per_second": 1000,
                                           "rate_limit_burst": 1000}, creds)
            return started[manifest.slug]

        yield get


# Fakes the manifests do not name (they predate contract_fake() and are tested by their own
# plugin tests; their examples' ids are not seeded).
UNNAMED_FAKES = {"hubspot": "tests.plugins.hubspot.fake_hubspot",
                 "webex": "tests.plugins.webex.fake_webex"}

# Where a contract server cannot answer like the service, the run is narrowed, and says why.
NARROWED = {
    # Prism's static example of GitHub's pulls list carries a Link to the next page on
    # api.github.com, which the client rightly refuses to follow from another host: one page.
    "weekly_open_pr_report": {"prs": {"max_items": 1}},
    # The Notion spec in shared/specs types a page's ``children`` as strings (Notion's API takes
    # block objects, as the plugin sends): the run leaves the page body empty.
    "email_summary_to_notion": {"page": {"content": ""}},
}


def _available(app_registry_names: set[str]):
    return [t for t in TEMPLATES if set(t.services()) <= app_registry_names]


def _installed() -> set[str]:
    from importlib.metadata import entry_points

    from atom.integrations.registry import GROUP

    return {ep.name for ep in entry_points(group=GROUP)}


@pytest.mark.parametrize("template", _available(_installed()), ids=lambda t: t.name)
def test_the_template_runs_end_to_end_against_the_contract_servers(
        app, client, keys, create_connection, servers, template):
    from atom.state import get_state

    registry = get_state(app).registry
    connections = {}
    for slug in template.services():
        settings, creds = servers(registry.get(slug).manifest)
        connections[slug] = create_connection(slug, settings, creds)["id"]
    with app.app_context():
        payload = template.sample_payload()
    made = client.post(f"/api/v2/ai-workflows/templates/{template.name}/instantiate",
                       headers=keys["editor"], json={"connections": connections,
                             "parameters": _merge(template.example_parameters(),
                                                  NARROWED.get(template.name, {}))})
    assert made.status_code == 201, made.get_json()
    wf = made.get_json()
    ran = client.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=60", headers=keys["editor"],
                      json=payload)
    execution = ran.get_json()
    assert ran.status_code == 200, execution
    failed = {s["step_id"]: (s.get("error_class"), s.get("error")) for s in execution["steps"]
              if s["status"] == "failed"}
    assert execution["status"] == "succeeded", failed or execution
    ran_steps = [s for s in execution["steps"] if s["status"] == "succeeded"]
    assert ran_steps, "the sample payload ran no step"
    action_steps = {s["id"] for s in template.definition["steps"] if s["type"] == "action"}
    assert action_steps & {s["step_id"] for s in ran_steps} or not action_steps, execution


def _merge(a: dict, b: dict) -> dict:
    return {k: {**a.get(k, {}), **b.get(k, {})} for k in {*a, *b}}


def test_atom_test_html_shows_every_integration_against_its_contract_server(
        app, runner, create_connection, servers, tmp_path):
    """``atom test --html`` with one connection per installed integration, each on its
    contract server: every integration is in the report, and every health check passes."""
    import json

    from atom.cli import main
    from atom.state import get_state

    import re

    import responses

    from tests.plugins.gitlab.conftest import GITLAB
    from tests.plugins.gitlab.conftest import PROJECT
    from tests.plugins.gitlab.conftest import PROJECT_ID
    from tests.plugins.gitlab.conftest import WEBHOOK_TOKEN
    from tests.plugins.gitlab.fake_gitlab import TOKEN as GITLAB_TOKEN
    from tests.plugins.gitlab.fake_gitlab import FakeGitLab

    manifests = [p.manifest for p in get_state(app).registry.all()]
    out_json, out_html = tmp_path / "report.json", tmp_path / "report.html"
    # GitLab's fake answers at the HTTP seam (responses); every other server is on loopback.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)[:/]"))
        FakeGitLab(GITLAB).register(rsps).add_project(PROJECT, PROJECT_ID)
        for manifest in manifests:
            if manifest.slug == "gitlab":
                settings, creds = {}, {"token": GITLAB_TOKEN, "webhook_token": WEBHOOK_TOKEN}
            else:
                settings, creds = servers(manifest)
            # 30 checks at once against servers in this process (moto, the fakes) on a busy CI
            # machine: this test is about the contract, not latency, so neither the 10 s read
            # timeout nor the 10 s health-check budget (CI once took 12 s for Workday's).
            settings = {**settings, "read_timeout_s": 60}
            create_connection(manifest.slug, settings, creds, label=f"{manifest.slug} contract")
        app.config["HEALTH_CHECK_TIMEOUT_S"] = 60.0
        result = runner.invoke(main, ["test", "--json", str(out_json), "--html", str(out_html)])

    report = json.loads(out_json.read_text())
    assert set(report["integrations"]) == {m.slug for m in manifests}
    failed = {c["integration"]: c.get("error") or c for c in report["connections"]
              if not c.get("ok", c.get("check", {}).get("ok", True))}
    assert report["summary"]["checks_failed"] == 0, failed or result.output
    from tests.atom.api.test_integrations import CATALOGUE

    assert set(report["integrations"]) == CATALOGUE  # the 30, whatever is installed
    html = out_html.read_text()
    # Each integration has its own row in the "By integration" table with its one check passed,
    # and its connection a row in the "Connections" table with the health check passed (a
    # bare slug could match elsewhere in the page: "box", "http", "aws").
    for manifest in manifests:
        assert re.search(rf'<tr><td>{manifest.slug}</td>\s*<td class="ok">1/1</td>', html), \
            f"{manifest.slug} has no passed row in the By integration table"
        assert re.search(rf'<small>{manifest.slug}</small></td>\s*<td class="ok">passed', html), \
            f"{manifest.slug}'s connection has no passed health check row"
    # Every read-only action passes against its contract server (listings to their first page:
    # Prism repeats its example cursor) or is skipped saying what input it needs; none fails.
    failing = [(c["integration"], a["name"], a["message"]) for c in report["connections"]
               for a in c["actions"] if a["status"] == "failed"]
    assert failing == [] and report["summary"]["ok"] is True, failing
    assert report["summary"]["actions_passed"] >= 80, report["summary"]
