// Package api is calgate's REST interface (gin): routes, handlers,
// authentication, errors as application/problem+json (RFC 9457) and the
// OpenAPI 3 document built from the same route table that registers the
// handlers, so the two cannot drift apart.
package api
