// Package icaltest runs iCalendar parsers nobody here wrote on a document
// and reports what they saw: ical.js (the parser inside Thunderbird) and
// Debian's python3-icalendar, through the validator scripts in the
// repository's testdata/validators. The ical package's render tests and
// the gateway's feed tests share it.
package icaltest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/calgate/calgate/internal/testenv"
)

// Time is a start or end as a parser reports it.
type Time struct {
	Local string `json:"local"`
	Unix  *int64 `json:"unix"`
	// UnixVTimezone is the instant by the document's own VTIMEZONE
	// (python3-icalendar).
	UnixVTimezone *int64 `json:"unix_vtimezone"`
	Zone          string `json:"zone"`
	TZID          string `json:"tzid"`
	Date          bool   `json:"date"`
}

// Event is a VEVENT as a parser reports it.
type Event struct {
	UID         string   `json:"uid"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
	Status      string   `json:"status"`
	Categories  []string `json:"categories"`
	Start       Time     `json:"start"`
	End         Time     `json:"end"`
}

// Calendar is a document as a parser reports it.
type Calendar struct {
	Method string  `json:"method"`
	Events []Event `json:"events"`
	// FreeBusy lists the FREEBUSY periods of the VFREEBUSY components.
	FreeBusy []Period `json:"freebusy"`
}

// Period is one FREEBUSY period in Unix seconds with its FBTYPE.
type Period struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Type  string `json:"type"`
}

// Need skips the test when a parser is missing, or fails it under
// CI=true, where everything must be installed.
func Need(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Missing(t, format+" (source .ci/setup-ical.sh to install it)", args...)
}

// ICALJS runs ical.js on doc.
func ICALJS(t testing.TB, doc []byte) Calendar {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		Need(t, "node is not installed")
	}
	modules := os.Getenv("CALGATE_TEST_NODE_PATH")
	if modules == "" {
		Need(t, "CALGATE_TEST_NODE_PATH is not set to a node_modules directory holding ical.js")
	}
	if _, err := os.Stat(filepath.Join(modules, "ical.js", "package.json")); err != nil {
		Need(t, "ical.js is not installed in %s", modules)
	}
	return run(t, doc, "node", script("validate_icaljs.mjs"))
}

// Python runs python3-icalendar on doc.
func Python(t testing.TB, doc []byte) Calendar {
	t.Helper()
	py := os.Getenv("CALGATE_TEST_PYTHON")
	if py == "" {
		py = "python3"
	}
	if out, err := exec.Command(py, "-c", "import icalendar").CombinedOutput(); err != nil {
		Need(t, "%s cannot import icalendar (Debian package python3-icalendar): %v: %s", py, err, out)
	}
	return run(t, doc, py, script("validate_icalendar.py"))
}

// script is the path of a validator script, found from this file so that
// tests of any package reach it.
func script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "validators", name)
}

// run writes the document to a file and runs a validator script on it.
func run(t testing.TB, doc []byte, name string, args ...string) Calendar {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, append(args, path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: the document does not parse: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	var seen Calendar
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", args[0], err, out)
	}
	return seen
}
