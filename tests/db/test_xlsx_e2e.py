"""Every column type end to end as XLSX: source -> pgsched-runner -> jsonb
-> xlsx.c -> pandas.read_excel.

Issue 13, CONTRACT section 9: the query of tests/db/test_types_e2e.py
(every common type, several columns per type, once more with a row of
NULLs) is run by the real runner; the stored query_run_blob.df_json::text
is converted by xlsx_write_tmp() (tests/unit/xlsx_dump, as the API calls
it), with and without raw=1, read with pandas.read_excel (openpyxl) and
compared cell by cell with pandas.read_json(orient='table') of the same
text, and each cell's type with the typing rules: the comparison of
tests/py/test_xlsx_pandas.py (imported).
"""
import os
import sys

from pgtest import SRCDIR, check, run_tests

sys.path.insert(0, os.path.join(SRCDIR, "tests", "db"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "py"))
import test_types_e2e as types  # noqa: E402  pylint: disable=C0413
import test_xlsx_pandas as xl  # noqa: E402  pylint: disable=C0413

xl.check = check    # count xl.compare()'s checks in pgtest's tally
DUMP = xl.xlsx_dump_path()


def xlsx_case(name, with_nulls):
    status, err, text, count = types.run_job(name,
                                             types.job_sql(with_nulls))
    check(name + ": success", status == "success", err)
    if text is None:
        return
    for raw in (False, True):
        tag = "%s raw=%d" % (name, raw)
        path, st = xl.convert(DUMP, text, raw)
        check(tag + ": rows", st["rows"] == count and st["cells_cut"] == 0,
              st)
        xl.compare(tag, text, path, raw)
    print("%s: %d columns x %d rows compared, raw=0 and raw=1" % (
        name, len(types.COLUMNS), count))


def test_xlsx_all_types():
    xlsx_case("xlsx types", False)


def test_xlsx_all_types_with_nulls():
    xlsx_case("xlsx types+nulls", True)


types.setup()
try:
    run_tests([test_xlsx_all_types, test_xlsx_all_types_with_nulls])
finally:
    if xl.WORK:
        xl.WORK[0].cleanup()
