package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// curlCall is one curl command of the README, parsed.
type curlCall struct {
	line    int
	method  string
	url     string
	headers [][2]string
	data    *string
}

// TestREADMEWalkThroughTheAPIRuns runs every curl command of the README's
// walk through the API against a gateway, in order, as curl would send
// it: an example that stops working fails here.
func TestREADMEWalkThroughTheAPIRuns(t *testing.T) {
	calls := readmeCalls(t, "../../README.md", "## A walk through the API")
	if len(calls) < 15 {
		t.Fatalf("only %d curl commands found in the README's walk", len(calls))
	}
	g := startGateway(t, engines()[0])
	// Ids the examples elide ("ent_…") are those of what they created last.
	lastID := map[string]string{}
	placeholder := regexp.MustCompile(`/(ent|tok)_…`)
	for _, c := range calls {
		url := strings.NewReplacer("$API", g.URL, "$TOKEN", g.Token).Replace(c.url)
		url = placeholder.ReplaceAllStringFunc(url, func(m string) string {
			collection := url[:strings.Index(url, m)]
			return "/" + lastID[collection]
		})
		if strings.Contains(url, "…") {
			t.Errorf("README line %d: an elided part the test cannot fill: %s", c.line, url)
			continue
		}
		var body io.Reader
		if c.data != nil {
			body = strings.NewReader(*c.data)
		}
		req, err := http.NewRequest(c.method, url, body)
		if err != nil {
			t.Fatalf("README line %d: %v", c.line, err)
		}
		if c.data != nil {
			// What curl -d sends when no header says otherwise.
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, h := range c.headers {
			req.Header.Set(h[0], strings.ReplaceAll(h[1], "$TOKEN", g.Token))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("README line %d: %v", c.line, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("README line %d: %s %s answered %d: %s", c.line, c.method, url, resp.StatusCode, answer)
			continue
		}
		if c.method == http.MethodPost && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			var created struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(answer, &created) == nil && created.ID != "" {
				lastID[url] = created.ID
			}
		}
	}
}

// readmeCalls parses the curl commands of the first sh block after the
// heading.
func readmeCalls(t *testing.T, path, heading string) []curlCall {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if l == heading {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("no %q in %s", heading, path)
	}
	for start < len(lines) && lines[start] != "```sh" {
		start++
	}
	var calls []curlCall
	for i := start + 1; i < len(lines) && lines[i] != "```"; i++ {
		if !strings.HasPrefix(lines[i], "curl ") {
			continue
		}
		first := i
		cmd := lines[i]
		for !balanced(cmd) || strings.HasSuffix(cmd, "\\") {
			i++
			if i >= len(lines) {
				t.Fatalf("README line %d: the command never ends", first+1)
			}
			cmd = strings.TrimSuffix(cmd, "\\") + "\n" + lines[i]
		}
		words, err := shellWords(cmd)
		if err != nil {
			t.Fatalf("README line %d: %v", first+1, err)
		}
		c, err := parseCurl(words)
		if err != nil {
			t.Fatalf("README line %d: %v", first+1, err)
		}
		c.line = first + 1
		calls = append(calls, c)
	}
	return calls
}

// balanced reports whether every quote of a shell line is closed.
func balanced(s string) bool {
	_, err := shellWords(s)
	return err == nil
}

// shellWords splits a command as sh does for the README's commands:
// single and double quotes, and a comment from an unquoted #.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unclosed %c", ch)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '#' && !inWord:
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				i = len(s)
			} else {
				i += j - 1
			}
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseCurl reads the flags the README uses: -s, -X, -H, -d, a redirect
// of the output, and the URL.
func parseCurl(words []string) (curlCall, error) {
	c := curlCall{method: http.MethodGet}
	for i := 1; i < len(words); i++ {
		w := words[i]
		next := func() (string, error) {
			if i+1 >= len(words) {
				return "", fmt.Errorf("%s without a value", w)
			}
			i++
			return words[i], nil
		}
		switch {
		case w == "-s":
		case w == "-X":
			m, err := next()
			if err != nil {
				return c, err
			}
			c.method = m
		case w == "-H":
			h, err := next()
			if err != nil {
				return c, err
			}
			name, value, ok := strings.Cut(h, ":")
			if !ok {
				return c, fmt.Errorf("header %q", h)
			}
			c.headers = append(c.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
		case w == "-d":
			d, err := next()
			if err != nil {
				return c, err
			}
			c.data = &d
			if c.method == http.MethodGet {
				c.method = http.MethodPost
			}
		case w == ">":
			i++ // the output goes to a file
		case strings.HasPrefix(w, "-"):
			return c, fmt.Errorf("flag %s is not understood by the test", w)
		default:
			if c.url != "" {
				return c, fmt.Errorf("two URLs: %s and %s", c.url, w)
			}
			c.url = w
		}
	}
	if c.url == "" {
		return c, fmt.Errorf("no URL")
	}
	return c, nil
}
