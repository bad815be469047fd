// Package compat holds what the compatibility surfaces share: each surface
// (planningpme, planningnow, skyplanner) serves the request shapes of one
// other planning system, so that an ERP that already talks to it reaches
// calgate by changing a base URL and a token. The surfaces are thin
// translators: they turn those documents into the imports and upserts the
// native API makes, never reach the database on their own, and answer in
// the other system's shapes. docs/compat.md lists each surface with the
// differences that remain.
package compat
