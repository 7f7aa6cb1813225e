"""Seeds a query and a run, then runs bench/api.sh (under with-api.sh)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "api"))
from apitest import URL, psql, session  # noqa: E402

adm = session("admin")
ds = adm.post(URL + "/api/datasources",
              json={"name": "bench", "host": "127.0.0.1",
                    "port": int(os.environ["PGPORT"]), "dbname": "source",
                    "username": "postgres"}).json()["datasource"]["id"]
q = adm.post(URL + "/api/admin/queries",
             json={"name": "bench", "title": "Bench", "data_source_id": ds,
                   "sql_text": "SELECT g, g * 1.5 AS x FROM "
                   "generate_series(1, 150) g", "schedule_type": "interval",
                   "schedule_expr": "PT1H"}).json()["query"]["id"]
rid = psql("INSERT INTO query_run (query_id, scheduled_at, status) VALUES "
           "(%d, now(), 'success') RETURNING id" % q).splitlines()[0]
rows = ",".join('{"index":%d,"g":%d,"x":%s}' % (i, i + 1, (i + 1) * 1.5)
                for i in range(150))
doc = ('{"data":[%s],"schema":{"fields":[{"name":"index","type":"integer"},'
       '{"name":"g","type":"integer"},{"name":"x","type":"number"}],'
       '"primaryKey":["index"],"pandas_version":"1.4.0"}}' % rows)
psql("INSERT INTO query_run_blob (run_id, df_json, row_count, byte_size) "
     "VALUES (%s, $j$%s$j$, 150, %d)" % (rid, doc, len(doc)))
sys.exit(subprocess.call(["sh", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "api.sh")],
    env=dict(os.environ, BENCH_RUN_PATH="/api/runs/" + rid)))
