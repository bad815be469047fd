package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/calgate/calgate/ical"
	"github.com/calgate/calgate/internal/testenv"
)

// The validator scripts of the ical package: two iCalendar parsers nobody
// here wrote (ical.js, the parser inside Thunderbird, and Debian's
// python3-icalendar) print what they see as JSON.
const (
	icaljsScript = "../../testdata/validators/validate_icaljs.mjs"
	pythonScript = "../../testdata/validators/validate_icalendar.py"
)

// seenTime is a start or end as a parser reports it.
type seenTime struct {
	Local string `json:"local"`
	Unix  *int64 `json:"unix"`
	Date  bool   `json:"date"`
}

// seenEvent is a VEVENT as a parser reports it.
type seenEvent struct {
	UID         string   `json:"uid"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
	Status      string   `json:"status"`
	Start       seenTime `json:"start"`
	End         seenTime `json:"end"`
}

type seenCalendar struct {
	Method string      `json:"method"`
	Events []seenEvent `json:"events"`
	// FreeBusy lists the FREEBUSY periods of the VFREEBUSY components
	// (reported by ical.js and python3-icalendar).
	FreeBusy []seenPeriod `json:"freebusy"`
}

// seenPeriod is one FREEBUSY period in Unix seconds with its FBTYPE.
type seenPeriod struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Type  string `json:"type"`
}

// wantEvent is what every parser must see of one entry.
type wantEvent struct {
	Summary string
	Status  string
	// Start and End are instants for timed entries; for all-day entries
	// StartDate and EndDate are the dates written (end exclusive).
	Start, End         time.Time
	StartDate, EndDate string
}

// clientsNeed skips, or fails under CI=true, when a parser is missing.
func clientsNeed(t *testing.T, format string, args ...any) {
	t.Helper()
	testenv.Missing(t, format+" (source .ci/setup-ical.sh to install it)", args...)
}

// parseWithClients runs go-ical, ical.js and python3-icalendar on a
// fetched feed and returns what each saw, by parser name.
func parseWithClients(t *testing.T, doc []byte) map[string]seenCalendar {
	t.Helper()
	out := map[string]seenCalendar{"go-ical": parseGoICal(t, doc)}
	path := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		clientsNeed(t, "node is not installed")
	}
	modules := os.Getenv("CALGATE_TEST_NODE_PATH")
	if modules == "" {
		clientsNeed(t, "CALGATE_TEST_NODE_PATH is not set to a node_modules directory holding ical.js")
	}
	if _, err := os.Stat(filepath.Join(modules, "ical.js", "package.json")); err != nil {
		clientsNeed(t, "ical.js is not installed in %s", modules)
	}
	out["ical.js"] = runParser(t, exec.Command("node", icaljsScript, path))
	py := os.Getenv("CALGATE_TEST_PYTHON")
	if py == "" {
		py = "python3"
	}
	if msg, err := exec.Command(py, "-c", "import icalendar").CombinedOutput(); err != nil {
		clientsNeed(t, "%s cannot import icalendar (Debian package python3-icalendar): %v: %s", py, err, msg)
	}
	out["python3-icalendar"] = runParser(t, exec.Command(py, pythonScript, path))
	return out
}

func runParser(t *testing.T, cmd *exec.Cmd) seenCalendar {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: the feed does not parse: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	var seen seenCalendar
	if err := json.Unmarshal(data, &seen); err != nil {
		t.Fatalf("%s: output is not JSON: %v", cmd.Args[0], err)
	}
	return seen
}

// parseGoICal decodes the feed with go-ical (whose decoder may panic on
// bad input) and reports its events like the scripts do.
func parseGoICal(t *testing.T, doc []byte) seenCalendar {
	t.Helper()
	cal, err := ical.DecodeCalendar(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("go-ical: the feed does not parse: %v", err)
	}
	seen := seenCalendar{}
	seen.Method, _ = cal.Props.Text(goical.PropMethod)
	for _, ev := range cal.Events() {
		var se seenEvent
		se.UID, _ = ev.Props.Text(goical.PropUID)
		se.Summary, _ = ev.Props.Text(goical.PropSummary)
		se.Description, _ = ev.Props.Text(goical.PropDescription)
		se.Location, _ = ev.Props.Text(goical.PropLocation)
		se.Status, _ = ev.Props.Text(goical.PropStatus)
		for _, p := range []struct {
			name string
			dst  *seenTime
		}{{goical.PropDateTimeStart, &se.Start}, {goical.PropDateTimeEnd, &se.End}} {
			prop := ev.Props.Get(p.name)
			if prop == nil {
				t.Fatalf("go-ical: %s has no %s", se.UID, p.name)
			}
			if prop.ValueType() == goical.ValueDate {
				p.dst.Date = true
				d, err := prop.DateTime(time.UTC)
				if err != nil {
					t.Fatalf("go-ical: %s %s: %v", se.UID, p.name, err)
				}
				p.dst.Local = d.Format(time.DateOnly)
				continue
			}
			d, err := prop.DateTime(time.UTC)
			if err != nil {
				t.Fatalf("go-ical: %s %s: %v", se.UID, p.name, err)
			}
			u := d.Unix()
			p.dst.Unix = &u
		}
		seen.Events = append(seen.Events, se)
	}
	return seen
}

// checkClients asserts that every parser sees a PUBLISH calendar with
// exactly the wanted events (by UID), with their titles, statuses and
// times.
func checkClients(t *testing.T, doc []byte, want map[string]wantEvent) {
	t.Helper()
	for parser, seen := range parseWithClients(t, doc) {
		if seen.Method != "PUBLISH" {
			t.Errorf("%s: METHOD %q, want PUBLISH", parser, seen.Method)
		}
		if len(seen.Events) != len(want) {
			t.Errorf("%s: %d events, want %d", parser, len(seen.Events), len(want))
		}
		for _, ev := range seen.Events {
			w, ok := want[strings.TrimSuffix(ev.UID, "@calgate")]
			if !ok {
				t.Errorf("%s: unexpected event %s (%q)", parser, ev.UID, ev.Summary)
				continue
			}
			if ev.Summary != w.Summary {
				t.Errorf("%s: %s: SUMMARY %q, want %q", parser, ev.UID, ev.Summary, w.Summary)
			}
			if ev.Status != w.Status {
				t.Errorf("%s: %s: STATUS %q, want %q", parser, ev.UID, ev.Status, w.Status)
			}
			checkTime(t, parser, ev.UID+" start", ev.Start, w.Start, w.StartDate)
			checkTime(t, parser, ev.UID+" end", ev.End, w.End, w.EndDate)
		}
	}
}

func checkTime(t *testing.T, parser, what string, got seenTime, instant time.Time, date string) {
	t.Helper()
	if date != "" {
		if !got.Date || got.Local != date {
			t.Errorf("%s: %s: %+v, want the date %s", parser, what, got, date)
		}
		return
	}
	if got.Date || got.Unix == nil || *got.Unix != instant.Unix() {
		t.Errorf("%s: %s: %+v, want the instant %s", parser, what, got, instant.UTC())
	}
}
