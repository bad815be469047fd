// Package outbound is the one HTTP client calgate uses to reach the outside
// world: webhook deliveries, CalDAV synchronization, iCal subscriptions,
// scheduled pulls and connectors all go through it.
//
// The client refuses to talk to internal addresses (loopback, private and
// link-local ranges, carrier-grade NAT, multicast, cloud metadata services,
// and the IPv4-mapped, NAT64, 6to4 and Teredo forms of them), checking both
// when a URL is registered ([CheckURL]) and again for every connection it
// opens, so a name that later resolves to 127.0.0.1 is refused at delivery
// too. It follows no redirects, ignores proxy settings from the environment,
// applies timeouts at every stage and caps how much of a response it reads.
package outbound
