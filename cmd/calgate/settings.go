package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// scope says which commands take a setting: a command registers the
// settings of its scopes as flags, and its --help lists only those.
type scope int

const (
	// scopeStore: the database and logging (every command that opens the
	// database).
	scopeStore scope = 1 << iota
	// scopeWorkspace: what workspaces created at start get.
	scopeWorkspace
	// scopeListen: where the gateway listens (also what calgate health asks).
	scopeListen
	// scopeGateway: everything else a running gateway needs.
	scopeGateway
	// scopeClient: what calgate import needs to reach a remote gateway.
	scopeClient

	scopeAll = scopeStore | scopeWorkspace | scopeListen | scopeGateway
)

// setting is one configuration setting: an environment variable, the flag
// of the same meaning (named after it: CALGATE_WEBHOOK_TIMEOUT is
// --webhook-timeout), and the Config field both fill.
type setting struct {
	Env   string
	Scope scope
	Value *value
	Usage string
}

// Flag is the setting's flag name: the variable without CALGATE_, in
// lower case with dashes.
func (s setting) Flag() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.Env, "CALGATE_")), "_", "-")
}

// value is a flag.Value bound to one Config field; Set parses and
// validates, so a bad variable or flag is refused at start.
type value struct {
	// ptr is the field (a *string, *int, …), for the test that every
	// field of Config has its setting.
	ptr    any
	get    func() string
	set    func(string) error
	isBool bool
}

func (v *value) String() string {
	if v == nil || v.get == nil {
		return ""
	}
	return v.get()
}

func (v *value) Set(s string) error { return v.set(s) }

// IsBoolFlag lets a boolean flag stand alone (--allow-private-targets).
func (v *value) IsBoolFlag() bool { return v != nil && v.isBool }

// text binds a string; check, when set, refuses values.
func text(p *string, check func(string) error) *value {
	return &value{ptr: p, get: func() string { return *p }, set: func(s string) error {
		if check != nil {
			if err := check(s); err != nil {
				return err
			}
		}
		*p = s
		return nil
	}}
}

func boolean(p *bool) *value {
	return &value{ptr: p, isBool: true, get: func() string { return strconv.FormatBool(*p) }, set: func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("must be true or false")
		}
		*p = b
		return nil
	}}
}

// duration binds a Go duration ("15s", "120h") of at least min.
func duration(p *time.Duration, min time.Duration) *value {
	return &value{ptr: p, get: func() string { return p.String() }, set: func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < min {
			return fmt.Errorf("must be a duration of at least %s (such as 90s or 2h)", min)
		}
		*p = d
		return nil
	}}
}

// integer binds a whole number between min and max.
func integer(p *int, min, max int) *value {
	return &value{ptr: p, get: func() string { return strconv.Itoa(*p) }, set: func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < min || n > max {
			return fmt.Errorf("must be a whole number from %d to %d", min, max)
		}
		*p = n
		return nil
	}}
}

// integer64 binds a whole number of at least min.
func integer64(p *int64, min int64) *value {
	return &value{ptr: p, get: func() string { return strconv.FormatInt(*p, 10) }, set: func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < min {
			return fmt.Errorf("must be a whole number of at least %d", min)
		}
		*p = n
		return nil
	}}
}

// factor binds a positive number (a scale of a retry schedule).
func factor(p *float64) *value {
	return &value{ptr: p, get: func() string { return strconv.FormatFloat(*p, 'g', -1, 64) }, set: func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0) || f > 1e6 {
			return errors.New("must be a positive number")
		}
		*p = f
		return nil
	}}
}

// oneOf refuses values outside the list.
func oneOf(allowed ...string) func(string) error {
	return func(s string) error {
		for _, a := range allowed {
			if s == a {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

// bind registers the settings of scopes as flags of fs (their defaults
// are the Config's values at this point), then applies the environment's
// non-empty variables over those defaults. The error names every bad
// variable and its flag.
func bind(fs *flag.FlagSet, list []setting, scopes scope) error {
	var errs []error
	for _, s := range list {
		if s.Scope&scopes == 0 {
			continue
		}
		fs.Var(s.Value, s.Flag(), s.Usage+" ("+s.Env+")")
		raw, ok := os.LookupEnv(s.Env)
		if !ok || raw == "" {
			continue
		}
		if err := s.Value.Set(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s (flag --%s): invalid value %q: %w", s.Env, s.Flag(), raw, err))
		}
	}
	return errors.Join(errs...)
}
