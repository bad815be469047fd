// Package subscriptions pulls external iCalendar feeds (RFC 5545) into
// calgate: an Airbnb calendar export, a published Google, Outlook or Apple
// calendar. Each subscription is polled on its own interval with a
// conditional GET (RFC 9110 If-None-Match and If-Modified-Since) through
// the hardened outbound client; its events become entries of one kind on
// one resource, with source "ical:<subscription id>", written as one
// snapshot so that events gone from the feed are archived. A feed that
// cannot be fetched or read changes nothing already stored and leaves the
// reason on the subscription.
package subscriptions
