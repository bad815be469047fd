// Package webhooks delivers calgate's events to the HTTP endpoints users
// register, following the Standard Webhooks specification
// (https://www.standardwebhooks.com): every request carries webhook-id,
// webhook-timestamp and webhook-signature headers, the signature being an
// HMAC-SHA256 of "id.timestamp.body" under a "whsec_" secret, so receivers
// can verify it with any Standard Webhooks library.
//
// Deliveries go through the hardened client of package outbound. A 2xx
// answer is a success, 410 Gone disables the endpoint, and anything else is
// retried on a fixed schedule (see NextDelay) until the message fails.
package webhooks
