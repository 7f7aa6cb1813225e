"""Dry-runs against a faulty source through the API (issue #11).  Runs
under tests/lib/with-api.sh.

- a source whose default is standard_conforming_strings = off: the rows
  are those of the text libpg_query checked.
"""
import os
import subprocess

from apitest import URL, check, finish, session


def src_psql(sql, db="source"):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d",
                           db, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def add_source(adm, name, dbname):
    r = adm.post(URL + "/api/datasources",
                 json={"name": name, "host": "127.0.0.1",
                       "port": int(os.environ["PGPORT"]), "dbname": dbname,
                       "username": "postgres", "password": "unused"})
    check("data source %s created" % name, r.status_code == 201, r.text)
    return r.json()["datasource"]["id"]


def test_parser_agreement(adm, ed):
    src_psql("CREATE DATABASE scs_off")
    src_psql("ALTER DATABASE scs_off SET standard_conforming_strings = off")
    check("the source's default is off",
          src_psql("SHOW standard_conforming_strings", "scs_off") == "off")
    dsid = add_source(adm, "scs_off", "scs_off")
    r = ed.post(URL + "/api/admin/queries/test", json={
        "sql_text": "SELECT 'a\\'' , 1 AS two --' AS one",
        "data_source_id": dsid})
    print("  scs off: %s" % r.text[:200])
    check("the dry-run sees what was checked", r.status_code == 200 and
          r.json()["columns"] == ["one"] and
          r.json()["rows"] == [["a\\' , 1 AS two --"]], r.text)


def main():
    adm = session("admin")
    ed = session("editor")
    test_parser_agreement(adm, ed)
    finish()


main()
