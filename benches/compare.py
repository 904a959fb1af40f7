"""The comparisons of benches/compare.sh that run in Python: DuckDB doing the closest SQL
equivalent of `mailscrub clean` (lower-case, a regular-expression syntax check, dedupe keeping
the first occurrence, anti-join with the bounce list, write CSV), and a pandas +
python-email-validator script (syntax only, no DNS). Prints one line per run: name, rows, seconds."""
import sys, time

def duckdb_run(list_csv, bounces_csv, out_csv):
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads = 2")
    t = time.perf_counter()
    con.execute(f"""
    COPY (
      WITH src AS (
        SELECT *, lower(trim(email)) AS k, row_number() OVER () AS rn
        FROM read_csv('{list_csv}', all_varchar = true, header = true, ignore_errors = true)
      ),
      valid AS (
        SELECT * FROM src
        WHERE regexp_full_match(k, '[a-z0-9!#$%&''*+/=?^_`{{|}}~-]+(\\.[a-z0-9!#$%&''*+/=?^_`{{|}}~-]+)*@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\\.[a-z]{{2,}}')
      ),
      first AS (SELECT * FROM valid QUALIFY row_number() OVER (PARTITION BY k ORDER BY rn) = 1),
      bounced AS (SELECT DISTINCT lower(trim(email)) AS k FROM read_csv('{bounces_csv}', all_varchar = true, header = true))
      SELECT id, email, first_name, last_name, signup_date, country
      FROM first ANTI JOIN bounced USING (k)
      ORDER BY rn
    ) TO '{out_csv}' (HEADER, DELIMITER ',')
    """)
    s = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_csv('{list_csv}', all_varchar = true, header = true, ignore_errors = true)").fetchone()[0]
    print(f"duckdb,{rows},{s:.2f}")

def pandas_run(list_csv, bounces_csv, out_csv):
    import pandas as pd
    from email_validator import validate_email, EmailNotValidError
    t = time.perf_counter()
    df = pd.read_csv(list_csv, dtype=str, keep_default_na=False, on_bad_lines="skip")
    def norm(e):
        try:
            return validate_email(e.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            return None
    df["k"] = df["email"].map(norm)
    df = df[df["k"].notna()]
    df = df.drop_duplicates("k", keep="first")
    bounced = set(pd.read_csv(bounces_csv, dtype=str)["email"].str.strip().str.lower())
    df = df[~df["k"].isin(bounced)]
    df.drop(columns=["k"]).to_csv(out_csv, index=False)
    s = time.perf_counter() - t
    print(f"pandas+email-validator,{len(df)},{s:.2f}")

if __name__ == "__main__":
    which, list_csv, bounces_csv, out_csv = sys.argv[1:5]
    {"duckdb": duckdb_run, "pandas": pandas_run}[which](list_csv, bounces_csv, out_csv)
