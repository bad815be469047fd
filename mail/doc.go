// Package mail sends the plain-text e-mails calgate writes to people (a
// scheduled pull that failed) through an SMTP server, with net/smtp:
// STARTTLS when the server offers it (RFC 3207), PLAIN authentication when
// the SMTP URL carries credentials.
package mail
