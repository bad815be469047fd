// Package feeds publishes a workspace's entries as iCalendar feeds (RFC
// 5545) that Google Calendar, Outlook and Apple Calendar subscribe to by a
// secret URL.
//
// A feed is a filter over the entries plus rendering options. Its ready
// copy is kept in Redis: the feeds destination re-renders, on every entry
// event, only the feeds whose filter matches the entry before or after the
// change, coalescing bursts into one render per feed, so that a
// subscriber's GET is a cache read answered with strong ETags, 304s and
// gzip. A GET that finds no ready copy renders it on the spot.
package feeds
