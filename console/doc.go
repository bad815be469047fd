// Package console is calgate's web console: server-rendered pages over
// the same store and services the REST API uses, mounted at /console/.
//
// A person signs in with a workspace token, which is exchanged for a
// session cookie (HttpOnly, SameSite=Strict, Secure behind TLS); the token
// never appears in a URL. Every form carries the session's CSRF token,
// every answer a strict Content-Security-Policy, and every text goes
// through html/template's escaping. Templates and assets are embedded;
// pages work without JavaScript, which only adds conveniences (copying a
// URL).
package console
