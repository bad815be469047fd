// Package caldavtest starts real CalDAV servers (Radicale and Xandikos) on
// loopback ports for tests, each with its own storage, a user with a
// password and one calendar for events. A test needing a server that is not
// installed is skipped, or fails when CI=true.
//
// The servers come from Debian's radicale and xandikos packages
// (.ci/setup-caldav.sh installs them).
package caldavtest
