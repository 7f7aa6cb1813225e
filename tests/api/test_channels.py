"""Notification channels, subscriptions, alerts and deliveries through the
API (CONTRACT section 8): CRUD and roles, validation with field errors,
the signing secret shown once and never again, rotation, the SSRF rule at
creation and on a URL change, the test endpoint against a Standard
Webhooks receiver that verifies every signature (tests/lib/
webhook_receiver.py), subscriptions, alerts, the deliveries list and
redelivery (rows inserted by SQL: the runner writes them), a channel
deleted while deliveries are pending, /metrics, and no secret or URL
credential in any log line of the pool or of nginx.

test_channels.env allows the receiver's address (127.0.0.2) by
NOTIFY_ALLOW_HOSTS; every other loopback or private target is refused.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_channels.py
"""
import base64
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from apitest import (  # noqa: E402
    URL, add_source, check, err, finish, psql, session)
from webhook_receiver import WebhookReceiver  # noqa: E402

CH = URL + "/api/admin/channels"
TOKEN = "T0KEN-in-the-path-xyz"     # a URL credential: never shown again
JSON = {"Content-Type": "application/json"}
SECRETS = []                        # every secret shown: never logged


def create(adm, body, status=201):
    r = adm.post(CH, json=body)
    check("create %s: %d" % (body.get("name"), status),
          r.status_code == status, r.text)
    return r


def test_roles(adm, ed, view):
    anon = session()
    check("channels without a session: 401",
          err(anon.get(CH), 401))
    check("channels as viewer: 403", err(view.get(CH), 403))
    check("channels as editor: 403 (admin only)", err(ed.get(CH), 403))
    check("channel create as editor: 403",
          err(ed.post(CH, json={"name": "x", "kind": "slack",
                                "url": "http://127.0.0.2/"}), 403))
    check("deliveries as viewer: 403",
          err(view.get(URL + "/api/admin/deliveries"), 403))
    check("deliveries as editor: 200",
          ed.get(URL + "/api/admin/deliveries").status_code == 200)


def test_validation(adm, rx):
    good = rx.url_for("/hook")
    cases = [
        ({"kind": "webhook", "url": good}, "name"),
        ({"name": "-bad", "kind": "webhook", "url": good}, "name"),
        ({"name": "v1", "kind": "sms", "url": good}, "kind"),
        ({"name": "v2", "url": good}, "kind"),
        ({"name": "v3", "kind": "webhook"}, "url"),
        ({"name": "v4", "kind": "webhook", "url": "ftp://127.0.0.2/x"}, "url"),
        ({"name": "v5", "kind": "webhook", "url": "file:///etc/passwd"},
         "url"),
        ({"name": "v6", "kind": "webhook",
          "url": "http://127.0.0.2/" + "a" * 2100}, "url"),
        ({"name": "v7", "kind": "webhook",
          "url": "http://user:pw@127.0.0.2/"}, "url"),
        ({"name": "v8", "kind": "email"}, "addresses"),
        ({"name": "v9", "kind": "email", "addresses": ["a" * 250 + "@x.org"]},
         "addresses"),
        ({"name": "v10", "kind": "email", "addresses": ["not an address"]},
         "addresses"),
        ({"name": "v11", "kind": "email", "addresses": ["a@x.org"],
          "url": good}, "url"),
        ({"name": "v12", "kind": "slack", "url": good,
          "addresses": ["a@x.org"]}, "addresses"),
        ({"name": "v13", "kind": "webhook", "url": good, "extra": 1},
         "extra"),
        ({"name": "v14", "kind": "email", "addresses": "a@x.org"},
         "addresses"),
    ]
    for body, field in cases:
        r = adm.post(CH, json=body)
        check("invalid channel %r: 422 naming %s" % (body, field),
              err(r, 422, "validation_failed", field) or
              err(r, 422, None, field), r.text)
    # The SSRF rule at creation: loopback, private, link-local, a name
    # that resolves to loopback; the allow-list names only 127.0.0.2.
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x",
                "http://169.254.169.254/latest/meta-data",
                "http://[::1]:9/x", "http://localhost:9/x",
                "https://192.168.1.1/", "http://[fd00::1]/"):
        r = adm.post(CH, json={"name": "ssrf", "kind": "webhook",
                               "url": url})
        check("SSRF target %s refused: 422 url" % url,
              err(r, 422, None, "url"), r.text)
        check("SSRF refusal does not quote the URL", url not in r.text,
              r.text)


def test_two_doors(adm):
    """The API and `pgsched-admin channels add` refuse a channel with the
    same message, naming the field (API) or its option (CLI)."""
    admin = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                         "pgsched-admin")
    option = {"name": "--name", "kind": "--kind", "url": "--url",
              "addresses": "--to"}
    cases = [
        ({"name": "d1", "kind": "webhook", "url": "ftp://127.0.0.2/"}, "url"),
        ({"name": "d2", "kind": "webhook", "url": "http://127.0.0.1/"},
         "url"),
        ({"name": "d3", "kind": "slack", "url": "http://10.0.0.1/"}, "url"),
        ({"name": "d4", "kind": "webhook",
          "url": "http://127.0.0.2/" + "p" * 2100}, "url"),
        ({"name": "d5", "kind": "webhook", "url": "http://u:p@127.0.0.2/"},
         "url"),
        ({"name": "d6", "kind": "pager", "url": "http://127.0.0.2/"},
         "kind"),
        ({"name": "-d7", "kind": "webhook", "url": "http://127.0.0.2/"},
         "name"),
        ({"name": "d8", "kind": "email", "addresses": ["x@"]}, "addresses"),
        ({"name": "d9", "kind": "email",
          "addresses": ["a@example.com", "a@example.com"]}, "addresses"),
        ({"name": "d10", "kind": "email", "addresses": ["a@example.com"],
          "url": "http://127.0.0.2/"}, "url"),
    ]
    for body, field in cases:
        r = adm.post(CH, json=body)
        msg = (r.json().get("fields") or {}).get(field)
        argv = [admin, "channels", "add", "--name", body["name"], "--kind",
                body["kind"]]
        if "url" in body:
            argv += ["--url", body["url"]]
        if "addresses" in body:
            argv += ["--to", ",".join(body["addresses"])]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        check("two doors %s: the API names %s" % (body["name"], field),
              r.status_code == 422 and msg, r.text)
        check("two doors %s: the CLI refuses with the API's message" %
              body["name"], p.returncode == 65 and msg is not None and
              ("%s: %s" % (option[field], msg)) in p.stderr,
              (msg, p.returncode, p.stderr))


def test_webhook(adm, rx):
    url = rx.url_for("/hook/" + TOKEN)
    r = create(adm, {"name": "hook", "kind": "webhook", "url": url})
    b = r.json()
    secret = b.get("secret", "")
    SECRETS.append(secret)
    check("create answers the secret once, whsec_ + base64 of 32 bytes",
          secret.startswith("whsec_") and
          len(base64.b64decode(secret[6:], validate=True)) == 32, b)
    ch = b["channel"]
    check("the channel shows target_display, not the URL",
          ch["target"] == "http://127.0.0.2:%d/..." % rx.port and
          TOKEN not in r.text.replace(secret, ""), ch)
    check("the channel says it has a secret", ch["has_secret"] is True, ch)
    cid = ch["id"]
    for what, resp in (("get", adm.get(CH + "/%d" % cid)),
                       ("list", adm.get(CH))):
        check("%s: 200" % what, resp.status_code == 200, resp.text)
        check("%s never shows the secret or the URL" % what,
              secret not in resp.text and secret[6:] not in resp.text and
              TOKEN not in resp.text and "enc_" not in resp.text,
              resp.text)
    check("duplicate name: 409", err(adm.post(CH, json={
        "name": "hook", "kind": "webhook", "url": url}), 409))
    # The test endpoint: a signed ping the receiver verifies.
    rx.set_secrets(secret)
    r = adm.post(CH + "/%d/test" % cid, headers=JSON)
    t = r.json()
    check("test: 200 delivered", r.status_code == 200 and
          t.get("delivered") is True and t.get("status") == 200, r.text)
    d = rx.wait_deliveries(1, path="/hook/" + TOKEN)
    check("the receiver got one verified ping", len(d) == 1 and
          d[0]["verified"] and d[0]["json"]["type"] == "ping" and
          d[0]["webhook_id"] == t.get("webhook_id"), d)
    check("test answer holds no secret", secret not in r.text, r.text)
    # Rotation: a new secret, shown once; both sign for the overlap.
    r = adm.post(CH + "/%d/rotate-secret" % cid, headers=JSON)
    new = r.json().get("secret", "")
    SECRETS.append(new)
    check("rotate: 200 with a new secret", r.status_code == 200 and
          new.startswith("whsec_") and new != secret, r.text)
    check("get after rotation shows neither secret",
          new not in adm.get(CH + "/%d" % cid).text)
    rx.set_secrets(new)
    r = adm.post(CH + "/%d/test" % cid, headers=JSON)
    check("test after rotation verifies with the new secret",
          r.json().get("delivered") is True, r.text)
    rx.set_secrets(secret)
    r = adm.post(CH + "/%d/test" % cid, headers=JSON)
    check("... and with the old one during the overlap",
          r.json().get("delivered") is True, r.text)
    rx.set_secrets("whsec_" + base64.b64encode(b"x" * 32).decode())
    r = adm.post(CH + "/%d/test" % cid, headers=JSON)
    check("a receiver with another secret refuses the ping: 401",
          r.status_code == 200 and r.json().get("delivered") is False and
          r.json().get("status") == 401, r.text)
    test_connect_time(adm)
    # PATCH: a URL change is checked against the SSRF rule again.
    r = adm.patch(CH + "/%d" % cid, json={"url": "http://127.0.0.1:9/"})
    check("PATCH to a loopback URL: 422 url", err(r, 422, None, "url"),
          r.text)
    r = adm.patch(CH + "/%d" % cid, json={"kind": "slack"})
    check("PATCH of the kind: 422 kind", err(r, 422, None, "kind"), r.text)
    r = adm.patch(CH + "/%d" % cid, json={"enabled": False,
                                          "name": "hook2"})
    check("PATCH name and enabled", r.status_code == 200 and
          r.json()["channel"]["enabled"] is False and
          r.json()["channel"]["name"] == "hook2", r.text)
    adm.patch(CH + "/%d" % cid, json={"enabled": True})
    return cid


def test_connect_time(adm):
    """The SSRF rule again at connect time: a channel made where
    127.0.0.1 was allowed (pgsched-admin with its own NOTIFY_ALLOW_HOSTS)
    is refused by the pool, whose settings allow it no longer, before
    anything is sent (as a name that resolves elsewhere later would be)."""
    admin = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                         "pgsched-admin")
    with WebhookReceiver(host="127.0.0.1") as lo:
        p = subprocess.run([admin, "channels", "add", "--name",
                            "lo-target", "--kind", "webhook", "--url",
                            lo.url_for("/inside")], capture_output=True,
                           text=True, timeout=60,
                           env=dict(os.environ,
                                    NOTIFY_ALLOW_HOSTS="127.0.0.1"))
        check("the CLI made a channel to 127.0.0.1 where it was allowed",
              p.returncode == 0, p.stderr)
        SECRETS.extend(p.stdout.split()[-1:])
        cid = int(psql("SELECT id FROM notify_channel WHERE name ="
                       " 'lo-target'"))
        r = adm.post(CH + "/%d/test" % cid, headers=JSON)
        check("test to a loopback address at connect time: not delivered",
              r.status_code == 200 and r.json().get("delivered") is False
              and r.json().get("status") is None, r.text)
        check("... and nothing reached the loopback listener",
              lo.deliveries() == [], lo.deliveries())
        check("... and the answer does not quote the URL",
              "inside" not in r.text, r.text)
        adm.delete(CH + "/%d" % cid, headers=JSON)


def test_slack_email(adm, rx):
    rx.behave("/slack", slack=True)
    r = create(adm, {"name": "slack", "kind": "slack",
                     "url": rx.url_for("/slack")})
    sid = r.json()["channel"]["id"]
    check("a slack channel has no secret", "secret" not in r.json() and
          r.json()["channel"]["has_secret"] is False, r.text)
    r = adm.post(CH + "/%d/test" % sid, headers=JSON)
    check("slack test delivered", r.json().get("delivered") is True, r.text)
    d = rx.wait_deliveries(1, path="/slack")
    check("slack body is {text}", len(d) == 1 and
          isinstance((d[0]["json"] or {}).get("text"), str), d)
    r = adm.post(CH + "/%d/rotate-secret" % sid, headers=JSON)
    check("rotate of a slack channel: 409", err(r, 409), r.text)
    r = create(adm, {"name": "mail", "kind": "email",
                     "addresses": ["ops@example.com", "dba@example.com"]})
    ch = r.json()["channel"]
    check("email channel shows its addresses",
          ch["addresses"] == ["ops@example.com", "dba@example.com"] and
          ch["target"] == "ops@example.com (+1 more)", ch)
    r = adm.post(CH + "/%d/test" % ch["id"], headers=JSON)
    check("email test without SMTP_URL: 200, not delivered, a reason",
          r.status_code == 200 and r.json().get("delivered") is False and
          r.json().get("error"), r.text)
    return sid, ch["id"]


def test_subscriptions(adm, ed, cid, sid):
    add_source(adm, "src")
    r = ed.post(URL + "/api/admin/queries",
                json={"name": "q1", "title": "Q1", "sql_text": "SELECT 1",
                      "data_source": "src", "schedule_type": "interval",
                      "schedule_expr": "PT1H", "max_staleness": "PT2H"})
    check("query with max_staleness created", r.status_code == 201, r.text)
    q = r.json()["query"]
    check("query shows max_staleness, stale and alert_state",
          q.get("max_staleness") == 7200 and q.get("stale") is False and
          q.get("alert_state") is None, q)
    qid = q["id"]
    n = URL + "/api/admin/queries/%d/notifications" % qid
    check("no subscriptions yet", ed.get(n).json() == {"items": []})
    r = ed.put(n, json={"items": [
        {"channel_id": cid, "events": ["run.failed", "job.stale"]},
        {"channel_id": sid, "events": ["alert.firing"]}]})
    check("PUT notifications: 200", r.status_code == 200, r.text)
    items = ed.get(n).json()["items"]
    check("GET shows them", [(i["channel_id"], i["events"]) for i in items]
          == [(cid, ["run.failed", "job.stale"]), (sid, ["alert.firing"])],
          items)
    for body, field in (
            ({"items": [{"channel_id": cid, "events": ["run.exploded"]}]},
             "items[0].events"),
            ({"items": [{"channel_id": cid, "events": []}]},
             "items[0].events"),
            ({"items": [{"channel_id": cid,
                         "events": ["run.failed", "run.failed"]}]},
             "items[0].events"),
            ({"items": [{"channel_id": 999999, "events": ["run.failed"]}]},
             "items[0].channel_id"),
            ({"items": [{"events": ["run.failed"]}]}, "items[0].channel_id"),
            ({"items": {}}, "items")):
        r = ed.put(n, json=body)
        check("bad subscriptions %r: 422 %s" % (body, field),
              err(r, 422, None, field), r.text)
    check("the bad PUTs changed nothing", ed.get(n).json()["items"] == items)
    check("notifications of a missing query: 404",
          err(ed.get(URL + "/api/admin/queries/999999/notifications"), 404))
    r = ed.patch(URL + "/api/admin/queries/%d" % qid,
                 json={"max_staleness": None})
    check("PATCH max_staleness null", r.status_code == 200 and
          r.json()["query"].get("max_staleness") is None, r.text)
    r = ed.patch(URL + "/api/admin/queries/%d" % qid,
                 json={"max_staleness": 30})
    check("max_staleness below a minute: 422",
          err(r, 422, None, "max_staleness"), r.text)
    return qid


def test_alert(ed, qid):
    a = URL + "/api/admin/queries/%d/alert" % qid
    check("no alert yet", ed.get(a).json() == {"alert": None})
    r = ed.put(a, json={"kind": "rows", "op": ">", "value": 10})
    al = r.json().get("alert") or {}
    check("PUT rows alert: ok since now", r.status_code == 200 and
          al.get("state") == "ok" and al.get("since") and
          al.get("value") == 10, r.text)
    psql("UPDATE query_alert SET state = 'firing' WHERE query_id = %d" % qid)
    r = ed.put(a, json={"kind": "rows", "op": ">", "value": 10})
    check("the same definition again keeps its state",
          r.json()["alert"]["state"] == "firing", r.text)
    r = ed.get(URL + "/api/admin/queries/%d" % qid)
    check("the query shows alert_state firing",
          r.json()["query"].get("alert_state") == "firing", r.text)
    r = ed.put(a, json={"kind": "value", "column": "n", "op": "!=",
                        "value": "done"})
    check("a changed alert starts ok", r.status_code == 200 and
          r.json()["alert"]["state"] == "ok" and
          r.json()["alert"]["value"] == "done", r.text)
    for body, field in (
            ({"kind": "rows", "op": "~", "value": 1}, "op"),
            ({"kind": "rows", "op": ">", "value": "ten"}, "value"),
            ({"kind": "rows", "column": "n", "op": ">", "value": 1},
             "column"),
            ({"kind": "value", "op": ">", "value": 1}, "column"),
            ({"kind": "value", "column": "n", "op": ">", "value": [1]},
             "value"),
            ({"kind": "count", "op": ">", "value": 1}, "kind"),
            ({"kind": "value", "column": "n", "op": ">",
              "value": "x" * 1025}, "value")):
        r = ed.put(a, json=body)
        check("bad alert %r: 422 %s" % (str(body)[:60], field),
              err(r, 422, None, field), r.text)
    check("DELETE alert: 200", ed.delete(a, headers=JSON).status_code == 200)
    check("DELETE again: 404", err(ed.delete(a, headers=JSON), 404))
    check("alert of a missing query: 404", err(ed.put(
        URL + "/api/admin/queries/999999/alert",
        json={"kind": "rows", "op": ">", "value": 1}), 404))


def insert_delivery(cid, qid, status, wid, attempts=0):
    return int(psql(
        "INSERT INTO notify_delivery (channel_id, event, query_id,"
        " webhook_id, payload, status, attempts) VALUES (%s, 'run.failed',"
        " %d, '%s', '{}', '%s', %d) RETURNING id" % (
            "NULL" if cid is None else cid, qid, wid, status, attempts)))


def test_deliveries(adm, ed, cid, sid, qid):
    d = URL + "/api/admin/deliveries"
    pend = insert_delivery(cid, qid, "pending", "msg_pend")
    dead = insert_delivery(cid, qid, "dead", "msg_dead", 7)
    done = insert_delivery(sid, qid, "delivered", "msg_done", 1)
    ids = lambda r: [i["id"] for i in r.json()["items"]]  # noqa: E731
    r = ed.get(d)
    check("list: newest first", ids(r) == [done, dead, pend], r.text)
    check("list by channel", ids(ed.get(d, params={"channel_id": cid})) ==
          [dead, pend])
    check("list by status", ids(ed.get(d, params={"status": "dead"})) ==
          [dead])
    check("list by query", ids(ed.get(d, params={"query_id": qid})) ==
          [done, dead, pend])
    r = ed.get(d, params={"limit": 2})
    check("paging: next_offset", r.json()["next_offset"] == 2 and
          r.json()["total"] == 3, r.text)
    for p, f in (({"status": "lost"}, "status"), ({"limit": 0}, "limit"),
                 ({"channel_id": "x"}, "channel_id")):
        check("deliveries %r: 422" % p, err(ed.get(d, params=p), 422, None,
                                            f))
    r = ed.post(d + "/%d/redeliver" % dead, headers=JSON)
    new = r.json().get("delivery") or {}
    check("redeliver dead: 201, a new pending row, same webhook-id",
          r.status_code == 201 and new.get("status") == "pending" and
          new.get("webhook_id") == "msg_dead" and
          new.get("redelivery_of") == dead and new.get("id") != dead,
          r.text)
    check("the old row is unchanged", psql(
        "SELECT status, attempts FROM notify_delivery WHERE id = %d" % dead)
        == "dead|7")
    check("redeliver again while that one is pending: 409",
          err(ed.post(d + "/%d/redeliver" % dead, headers=JSON), 409))
    check("redeliver a pending row: 409",
          err(ed.post(d + "/%d/redeliver" % pend, headers=JSON), 409))
    check("redeliver a missing row: 404",
          err(ed.post(d + "/999999/redeliver", headers=JSON), 404))
    r = ed.post(d + "/%d/redeliver" % done, headers=JSON)
    check("redeliver a delivered row: 201", r.status_code == 201, r.text)
    # A channel deleted while deliveries are pending: they stay, with no
    # channel, and cannot be redelivered.
    r = adm.delete(CH + "/%d" % cid, headers=JSON)
    check("delete the channel: 200, 2 pending", r.status_code == 200 and
          r.json().get("pending_deliveries") == 2, r.text)
    rows = {i["id"]: i for i in ed.get(d, params={"limit": 500})
            .json()["items"]}
    check("its deliveries stay, channel_id null",
          rows[pend]["channel_id"] is None and rows[dead]["channel_id"] is
          None and rows[pend]["status"] == "pending", rows)
    check("its subscriptions went with it", [i["channel_id"] for i in ed.get(
        URL + "/api/admin/queries/%d/notifications" % qid).json()["items"]]
        == [sid])
    check("redeliver of a deleted channel's row: 409",
          err(ed.post(d + "/%d/redeliver" % dead, headers=JSON), 409))
    check("get a deleted channel: 404", err(adm.get(CH + "/%d" % cid), 404))
    check("the API role cannot UPDATE deliveries", "permission denied" in
          psql_as_api("UPDATE notify_delivery SET status = 'dead'"))


def psql_as_api(sql):
    import subprocess
    p = subprocess.run(["psql", "-qAtX", "-d", os.environ.get(
        "PGSCHED_TEST_API_DSN", ""), "-c", sql], capture_output=True,
        text=True)
    return p.stdout + p.stderr


def test_metrics():
    m = session().get(URL + "/metrics").text
    check("metrics: deliveries by kind and status",
          'pgsched_notify_deliveries{kind="deleted",status="dead"} 1' in m
          and 'pgsched_notify_deliveries{kind="slack",status="pending"} 1'
          in m, m[-1500:])
    check("metrics: pending and oldest age",
          "pgsched_notify_pending 3" in m and
          "pgsched_notify_oldest_pending_seconds " in m, m[-1500:])
    check("metrics: stale jobs", "pgsched_jobs_stale 0" in m, m[-800:])


def test_logs():
    """No secret, no URL credential in any log line of the pool or nginx."""
    files = glob.glob(os.path.join(os.environ["LOG_DIR"], "*"))
    files += glob.glob(os.path.join(os.environ["PGSCHED_API_DIR"], "**",
                                    "*.log"), recursive=True)
    check("there are logs to read", len(files) > 0, files)
    for f in files:
        data = open(f, "rb").read()
        for s in SECRETS + [TOKEN]:
            check("%s holds no secret" % os.path.basename(f),
                  s.encode() not in data and
                  s.replace("whsec_", "").encode() not in data, s[:10])


def main():
    adm, ed, view = session("admin"), session("editor"), session("viewer")
    with WebhookReceiver(host="127.0.0.2") as rx:
        test_roles(adm, ed, view)
        test_validation(adm, rx)
        test_two_doors(adm)
        cid = test_webhook(adm, rx)
        sid, _ = test_slack_email(adm, rx)
        qid = test_subscriptions(adm, ed, cid, sid)
        test_alert(ed, qid)
        test_deliveries(adm, ed, cid, sid, qid)
        test_metrics()
    test_logs()
    finish()


if __name__ == "__main__":
    main()
