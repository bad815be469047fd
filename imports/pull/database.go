package pull

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/sheet"
	"github.com/calgate/calgate/outbound"
)

// Database pulls: a scheduled pull may read rows with a SQL query from
// PostgreSQL or MySQL/MariaDB instead of fetching a URL. The rows are
// mapped by a template that reads rows (columns), like the rows of a CSV
// file. Each run:
//
//   - connects through the outbound dialer (private addresses only when
//     the deployment allows them), with the DSN kept sealed;
//   - runs the query in a read-only transaction with a statement timeout,
//     read as a derived table, SELECT * FROM (query) AS calgate_pull, so
//     that only a query that reads can run;
//   - with a cursor column, reads the rows above the last run's value,
//     in the column's order, and goes on from the last row read;
//   - reads at most max_rows rows (one more to tell whether there are
//     more): an incremental pull takes the first max_rows (without
//     splitting rows that share a cursor value) and the next run goes
//     on; a pull without a cursor column fails instead.

// Limits and defaults of database pulls.
const (
	DefaultDBTimeout = 30 * time.Second
	MinDBTimeout     = time.Second
	MaxDBTimeout     = 5 * time.Minute
	DefaultDBMaxRows = 100_000
	MaxDBMaxRows     = 1_000_000
	maxQueryBytes    = 64 << 10
)

// Database engines.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
)

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// DatabaseInput is a database pull's settings as a request gives them.
type DatabaseInput struct {
	// DSN is postgres://user:pass@host:5432/db?sslmode=… or
	// mysql://user:pass@host:3306/db?tls=… (mariadb:// too).
	DSN          *string
	Query        *string
	CursorColumn *string
	Timeout      *string
	MaxRows      *int
}

// parseDSN checks a DSN and tells its engine and host.
func parseDSN(raw string) (engine, host string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", "", fmt.Errorf("is not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		engine = EnginePostgres
		if _, err := pgx.ParseConfig(raw); err != nil {
			return "", "", fmt.Errorf("is not a PostgreSQL URL: %v", err)
		}
	case "mysql", "mariadb":
		engine = EngineMySQL
		if strings.Trim(u.Path, "/") == "" {
			return "", "", fmt.Errorf("names no database (mysql://user:password@host:3306/database)")
		}
	default:
		return "", "", fmt.Errorf("must start with postgres:// or mysql:// (mariadb://)")
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("names no host")
	}
	return engine, u.Hostname(), nil
}

// mysqlConfig turns a mysql:// URL into the driver's configuration.
func mysqlConfig(raw string, timeout time.Duration) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	cfg.DBName = strings.Trim(u.Path, "/")
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Timeout = 10 * time.Second
	cfg.ReadTimeout = timeout + 10*time.Second
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	switch tls := u.Query().Get("tls"); tls {
	case "", "false":
	case "true", "skip-verify", "preferred":
		cfg.TLSConfig = tls
	default:
		return nil, fmt.Errorf("tls must be true, skip-verify, preferred or false")
	}
	return cfg, nil
}

// openDatabase opens one connection to the pull's database through the
// outbound dialer.
func (s *Service) openDatabase(engine, dsn string, timeout time.Duration) (*sql.DB, error) {
	dial := outbound.Dialer(s.o.AllowPrivate, s.d.Resolver, 10*time.Second)
	var db *sql.DB
	switch engine {
	case EnginePostgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		cfg.DialFunc = dial
		cfg.ConnectTimeout = 10 * time.Second
		cfg.RuntimeParams["application_name"] = "calgate pull"
		db = stdlib.OpenDB(*cfg)
	case EngineMySQL:
		cfg, err := mysqlConfig(dsn, timeout)
		if err != nil {
			return nil, err
		}
		cfg.DialFunc = dial
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		db = sql.OpenDB(conn)
	default:
		return nil, fmt.Errorf("unknown engine %q", engine)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// applyDatabase checks in and writes it onto p (a pull with or without
// database settings before).
func (s *Service) applyDatabase(p *calgate.PullImport, in *DatabaseInput, errs *calgate.ValidationError) {
	d := p.Database
	if d == nil {
		d = &calgate.PullDatabase{Timeout: calgate.Duration(DefaultDBTimeout), MaxRows: DefaultDBMaxRows}
	}
	reset := false
	if in.DSN != nil {
		engine, host, err := parseDSN(*in.DSN)
		if err != nil {
			errs.Add("database.dsn", "%v", err)
		} else {
			d.Engine, d.Host, d.SealedDSN = engine, host, s.d.Sealer.Seal([]byte(strings.TrimSpace(*in.DSN)))
			reset = true
		}
	} else if d.SealedDSN == "" {
		errs.Add("database.dsn", "is required")
	}
	if in.Query != nil {
		q := strings.TrimRight(strings.TrimSpace(*in.Query), "; \t\r\n")
		switch {
		case q == "":
			errs.Add("database.query", "is required")
		case len(q) > maxQueryBytes:
			errs.Add("database.query", "must be at most %d bytes long", maxQueryBytes)
		case strings.Contains(q, ";"):
			errs.Add("database.query", "must be one statement")
		}
		reset = reset || q != d.Query
		d.Query = q
	} else if d.Query == "" {
		errs.Add("database.query", "is required")
	}
	if in.CursorColumn != nil {
		c := strings.TrimSpace(*in.CursorColumn)
		if c != "" && !identifier.MatchString(c) {
			errs.Add("database.cursor_column", "must be a column name of letters, digits and _")
		}
		reset = reset || c != d.CursorColumn
		d.CursorColumn = c
	}
	if in.Timeout != nil {
		t, err := time.ParseDuration(*in.Timeout)
		if err != nil || t < MinDBTimeout || t > MaxDBTimeout {
			errs.Add("database.timeout", "must be a duration from %s to %s", MinDBTimeout, MaxDBTimeout)
		}
		d.Timeout = calgate.Duration(t)
	}
	if in.MaxRows != nil {
		if *in.MaxRows < 1 || *in.MaxRows > MaxDBMaxRows {
			errs.Add("database.max_rows", "must be from 1 to %d", MaxDBMaxRows)
		}
		d.MaxRows = *in.MaxRows
	}
	if reset {
		// Another source or another column: start from the beginning.
		p.Cursor = nil
	}
	p.Database = d
}

// sqlRows is the result of a database pull, read as table rows.
type sqlRows struct {
	header []string
	cols   *sheet.Columns
	rows   [][]string
	next   int
}

func (r *sqlRows) Header() []string { return r.header }
func (r *sqlRows) Close() error     { return nil }

// Next returns the next row; Line counts the header as line 1, as in a
// CSV file.
func (r *sqlRows) Next() (sheet.Row, error) {
	if r.next >= len(r.rows) {
		return sheet.Row{}, io.EOF
	}
	vals := make(map[string]string, len(r.header))
	for i, h := range r.header {
		vals[h] = r.rows[r.next][i]
	}
	r.next++
	return r.cols.Row(r.next+1, vals), nil
}

// queryDatabase runs the pull's query and returns its rows, and the
// cursor the next run starts from (nil when the pull has no cursor
// column or read no row).
func (s *Service) queryDatabase(ctx context.Context, p *calgate.PullImport) (*sqlRows, *calgate.PullCursor, bool, error) {
	d := p.Database
	dsn, err := s.d.Sealer.Open(d.SealedDSN)
	if err != nil {
		return nil, nil, false, fmt.Errorf("the stored DSN cannot be decrypted (was the secret key changed?): %w", err)
	}
	timeout := time.Duration(d.Timeout)
	if timeout <= 0 {
		timeout = DefaultDBTimeout
	}
	db, err := s.openDatabase(d.Engine, string(dsn), timeout)
	if err != nil {
		return nil, nil, false, fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	// A backstop beside the server's own statement timeout.
	ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, false, fmt.Errorf("database %s: connect: %w", d.Host, err)
	}
	defer tx.Rollback()
	if err := setStatementTimeout(ctx, tx, d.Engine, timeout); err != nil {
		return nil, nil, false, fmt.Errorf("database %s: statement timeout: %w", d.Host, err)
	}
	q, args, err := pullQuery(d, p.Cursor)
	if err != nil {
		return nil, nil, false, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, false, fmt.Errorf("database %s: query: %w", d.Host, err)
	}
	defer rows.Close()
	header, err := rows.Columns()
	if err != nil {
		return nil, nil, false, fmt.Errorf("database %s: %w", d.Host, err)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, false, fmt.Errorf("database %s: %w", d.Host, err)
	}
	cursorAt := -1
	if d.CursorColumn != "" {
		for i, h := range header {
			if strings.EqualFold(h, d.CursorColumn) {
				cursorAt = i
			}
		}
		if cursorAt < 0 {
			return nil, nil, false, fmt.Errorf("the query's result has no cursor column %q (its columns: %s)", d.CursorColumn, strings.Join(header, ", "))
		}
	}
	max := d.MaxRows
	if max <= 0 {
		max = DefaultDBMaxRows
	}
	out := &sqlRows{}
	var cursors []*calgate.PullCursor
	vals := make([]any, len(header))
	ptrs := make([]any, len(header))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, false, fmt.Errorf("database %s: read: %w", d.Host, err)
		}
		row := make([]string, len(header))
		for i, v := range vals {
			row[i] = cellText(v, d.Engine, types[i].DatabaseTypeName())
		}
		out.rows = append(out.rows, row)
		if cursorAt >= 0 {
			cursors = append(cursors, cursorOf(vals[cursorAt], d.Engine, types[cursorAt].DatabaseTypeName()))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, false, fmt.Errorf("database %s: read: %w", d.Host, err)
	}
	more := len(out.rows) > max
	if more {
		if cursorAt < 0 {
			return nil, nil, false, fmt.Errorf("the query returned more than max_rows (%d) rows: narrow it, raise max_rows, or name a cursor_column to read it in parts", max)
		}
		// Keep the first max rows, without splitting rows that share the
		// cursor value of the first row left out.
		cut := max
		for cut > 0 && *cursors[cut-1] == *cursors[max] {
			cut--
		}
		if cut == 0 {
			return nil, nil, false, fmt.Errorf("more than max_rows (%d) rows share the cursor value %s: raise max_rows", max, cursors[max].Value)
		}
		out.rows, cursors = out.rows[:cut], cursors[:cut]
	}
	out.header, out.cols = header, sheet.NewColumns(header)
	var next *calgate.PullCursor
	if len(cursors) > 0 {
		next = cursors[len(cursors)-1]
	}
	return out, next, more, nil
}

// pullQuery wraps the user's query: a derived table, filtered above the
// cursor and ordered by it, limited to one row more than max_rows.
func pullQuery(d *calgate.PullDatabase, cur *calgate.PullCursor) (string, []any, error) {
	max := d.MaxRows
	if max <= 0 {
		max = DefaultDBMaxRows
	}
	quote := func(c string) string {
		if d.Engine == EngineMySQL {
			return "`" + c + "`"
		}
		return `"` + c + `"`
	}
	var b strings.Builder
	b.WriteString("SELECT * FROM (\n")
	b.WriteString(d.Query)
	b.WriteString("\n) AS calgate_pull")
	var args []any
	if d.CursorColumn != "" {
		col := "calgate_pull." + quote(d.CursorColumn)
		if cur != nil {
			v, err := cursorArg(cur)
			if err != nil {
				return "", nil, err
			}
			placeholder := "?"
			if d.Engine == EnginePostgres {
				placeholder = "$1"
			}
			b.WriteString(" WHERE " + col + " > " + placeholder)
			args = append(args, v)
		}
		b.WriteString(" ORDER BY " + col)
	}
	b.WriteString(" LIMIT " + strconv.Itoa(max+1))
	return b.String(), args, nil
}

// setStatementTimeout bounds the transaction's statements on the server:
// statement_timeout on PostgreSQL, max_statement_time on MariaDB and
// max_execution_time on MySQL.
func setStatementTimeout(ctx context.Context, tx *sql.Tx, engine string, d time.Duration) error {
	switch engine {
	case EnginePostgres:
		_, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = "+strconv.FormatInt(d.Milliseconds(), 10))
		return err
	default:
		_, err := tx.ExecContext(ctx, "SET SESSION max_statement_time = "+strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
		if err == nil {
			return nil
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return err
		}
		_, err = tx.ExecContext(ctx, "SET SESSION max_execution_time = "+strconv.FormatInt(d.Milliseconds(), 10))
		return err
	}
}

// cellText renders a database value as the text of a row's cell: instants
// (PostgreSQL's timestamptz, MySQL's TIMESTAMP) in RFC 3339, local times
// (PostgreSQL's timestamp, MySQL's DATETIME) without a zone, so that the
// entry's time zone places them, and dates as dates.
func cellText(v any, engine, dbType string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(x)
	case string:
		return x
	case time.Time:
		switch t := strings.ToUpper(dbType); {
		case t == "DATE":
			return x.Format(calgate.DateLayout)
		case t == "DATETIME", t == "TIMESTAMP" && engine == EnginePostgres:
			return x.Format("2006-01-02 15:04:05.999999")
		default:
			return x.UTC().Format(time.RFC3339Nano)
		}
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	default:
		return fmt.Sprint(x)
	}
}

// cursorOf records a cursor column's value.
func cursorOf(v any, engine, dbType string) *calgate.PullCursor {
	switch x := v.(type) {
	case time.Time:
		return &calgate.PullCursor{Type: "time", Value: x.Format(time.RFC3339Nano)}
	case int64:
		return &calgate.PullCursor{Type: "int", Value: strconv.FormatInt(x, 10)}
	case float64:
		return &calgate.PullCursor{Type: "float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	default:
		return &calgate.PullCursor{Type: "text", Value: cellText(v, engine, dbType)}
	}
}

// cursorArg is the query argument of a recorded cursor.
func cursorArg(c *calgate.PullCursor) (any, error) {
	switch c.Type {
	case "time":
		return time.Parse(time.RFC3339Nano, c.Value)
	case "int":
		return strconv.ParseInt(c.Value, 10, 64)
	case "float":
		return strconv.ParseFloat(c.Value, 64)
	default:
		return c.Value, nil
	}
}

// runDatabasePull runs a database pull's query and imports its rows.
func (s *Service) runDatabasePull(ctx context.Context, ws *calgate.Workspace, p *calgate.PullImport) (*imports.Report, *calgate.PullCursor, error) {
	t, err := s.d.Importer.Resolve(ctx, p.WorkspaceID, p.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("template %s: %w", p.Template, err)
	}
	if !t.Tabular {
		return nil, nil, fmt.Errorf("template %s maps JSON records; a database pull needs a template that reads rows (columns)", p.Template)
	}
	rows, next, more, err := s.queryDatabase(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if missing := t.MissingColumns(rows.header); len(missing) > 0 {
		return nil, nil, fmt.Errorf("the query's result has no column %s, which template %s reads (its columns: %s)",
			quoteList(missing), p.Template, strings.Join(rows.header, ", "))
	}
	rep, err := s.d.Importer.ImportRowReader(ctx, ws, t, "pull/"+p.ID, rows, imports.ImportOptions{Mode: p.Mode})
	if err != nil {
		return nil, nil, err
	}
	rep.Cursor, rep.More = "", more
	if next != nil {
		rep.Cursor = next.Value
	} else if p.Cursor != nil {
		next = p.Cursor
	}
	return rep, next, nil
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
