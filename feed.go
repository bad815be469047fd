package calgate

import (
	"context"
	"time"
)

// DefaultFeedPastDays is how many days back a feed reaches when its filter
// names no window.
const DefaultFeedPastDays = 90

// Feed is an iCalendar feed that calendar applications subscribe to by its
// secret URL. Only a hash of the URL's token is stored; the token itself
// is kept encrypted (TokenSealed) so that the owner can see the URL again.
type Feed struct {
	ID          string
	WorkspaceID string
	Name        string
	Filter      FeedFilter
	// Timezone is the feed's IANA time zone (X-WR-TIMEZONE).
	Timezone string
	// IncludeCancelled keeps cancelled entries in the feed as
	// STATUS:CANCELLED.
	IncludeCancelled bool
	// Availability publishes busy time only: the union of the entries'
	// times as a VFREEBUSY and as events titled "Busy", without any detail
	// of the entries.
	Availability bool
	// TitleTemplates and DescriptionTemplates map a kind to its template
	// source (see ical.ParseTemplate).
	TitleTemplates       map[Kind]string
	DescriptionTemplates map[Kind]string
	// TokenHash is HashSecret of the URL's token; TokenSealed is the token
	// encrypted with the gateway's key.
	TokenHash   string
	TokenSealed []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// FeedFilter selects the entries of a feed. Empty lists select everything.
type FeedFilter struct {
	Kinds []Kind `json:"kinds"`
	// Resources match an entry's resource, workstage or cost_centre.
	Resources []string `json:"resources"`
	Statuses  []Status `json:"statuses"`
	Sources   []string `json:"sources"`
	// PastDays is how far back the feed reaches; the future is unlimited.
	PastDays int `json:"past_days"`
}

// EntryFilter returns the entry filter of the feed at time now.
func (f *Feed) EntryFilter(now time.Time) EntryFilter {
	ef := EntryFilter{
		Kinds:     f.Filter.Kinds,
		Resources: f.Filter.Resources,
		Statuses:  f.Filter.Statuses,
		Sources:   f.Filter.Sources,
		From:      now.Add(-time.Duration(f.Filter.PastDays) * 24 * time.Hour),
	}
	if !f.IncludeCancelled {
		if len(ef.Statuses) == 0 {
			ef.Statuses = []Status{StatusTentative, StatusConfirmed}
		} else {
			kept := make([]Status, 0, len(ef.Statuses))
			for _, s := range ef.Statuses {
				if s != StatusCancelled {
					kept = append(kept, s)
				}
			}
			if len(kept) == 0 {
				// Only cancelled entries were asked for and none are
				// wanted: a status no entry has selects nothing.
				kept = []Status{"-"}
			}
			ef.Statuses = kept
		}
	}
	return ef
}

// Matches reports whether the entry belongs in the feed at time now.
func (f *Feed) Matches(e *Entry, now time.Time) bool {
	ef := f.EntryFilter(now)
	return ef.Matches(e)
}

// FeedStore keeps feeds. Ids of other workspaces give ErrNotFound.
type FeedStore interface {
	CreateFeed(ctx context.Context, f *Feed) error
	Feed(ctx context.Context, workspaceID, id string) (*Feed, error)
	// FeedByTokenHash finds a feed by the hash of its URL's token.
	FeedByTokenHash(ctx context.Context, tokenHash string) (*Feed, error)
	Feeds(ctx context.Context, workspaceID, cursor string, limit int) ([]*Feed, string, error)
	// UpdateFeed writes every field of f but its id, workspace and
	// creation time.
	UpdateFeed(ctx context.Context, f *Feed) error
	DeleteFeed(ctx context.Context, workspaceID, id string) error
}
