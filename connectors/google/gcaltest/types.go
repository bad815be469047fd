package gcaltest

// The Google Calendar API v3 resources the fake serves, named as Google
// names them.

// EventDateTime is an event's start or end: a date (all-day events) or a
// dateTime (RFC 3339) with an optional IANA timeZone.
type EventDateTime struct {
	Date     string `json:"date,omitempty"`
	DateTime string `json:"dateTime,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// ExtendedProperties are an event's private (this copy of the event) and
// shared properties.
type ExtendedProperties struct {
	Private map[string]string `json:"private,omitempty"`
	Shared  map[string]string `json:"shared,omitempty"`
}

// Person is a creator or organizer.
type Person struct {
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Self        bool   `json:"self,omitempty"`
}

// Reminders are an event's reminders.
type Reminders struct {
	UseDefault bool `json:"useDefault"`
}

// Source is where an event was created from.
type Source struct {
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Event is an event resource.
type Event struct {
	Kind               string              `json:"kind,omitempty"`
	Etag               string              `json:"etag,omitempty"`
	ID                 string              `json:"id,omitempty"`
	Status             string              `json:"status,omitempty"`
	HTMLLink           string              `json:"htmlLink,omitempty"`
	Created            string              `json:"created,omitempty"`
	Updated            string              `json:"updated,omitempty"`
	Summary            string              `json:"summary,omitempty"`
	Description        string              `json:"description,omitempty"`
	Location           string              `json:"location,omitempty"`
	ColorID            string              `json:"colorId,omitempty"`
	Creator            *Person             `json:"creator,omitempty"`
	Organizer          *Person             `json:"organizer,omitempty"`
	Start              *EventDateTime      `json:"start,omitempty"`
	End                *EventDateTime      `json:"end,omitempty"`
	EndTimeUnspecified bool                `json:"endTimeUnspecified,omitempty"`
	Transparency       string              `json:"transparency,omitempty"`
	Visibility         string              `json:"visibility,omitempty"`
	ICalUID            string              `json:"iCalUID,omitempty"`
	Sequence           int64               `json:"sequence,omitempty"`
	ExtendedProperties *ExtendedProperties `json:"extendedProperties,omitempty"`
	Reminders          *Reminders          `json:"reminders,omitempty"`
	Source             *Source             `json:"source,omitempty"`
	EventType          string              `json:"eventType,omitempty"`
}

// Events is a page of events.list.
type Events struct {
	Kind          string   `json:"kind"`
	Etag          string   `json:"etag"`
	Summary       string   `json:"summary"`
	Updated       string   `json:"updated"`
	TimeZone      string   `json:"timeZone"`
	AccessRole    string   `json:"accessRole"`
	Items         []*Event `json:"items"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
	NextSyncToken string   `json:"nextSyncToken,omitempty"`
}

// CalendarListEntry is a calendar on the user's calendar list.
type CalendarListEntry struct {
	Kind            string `json:"kind"`
	Etag            string `json:"etag"`
	ID              string `json:"id"`
	Summary         string `json:"summary"`
	SummaryOverride string `json:"summaryOverride,omitempty"`
	TimeZone        string `json:"timeZone,omitempty"`
	AccessRole      string `json:"accessRole"`
	Primary         bool   `json:"primary,omitempty"`
}

// CalendarList is a page of calendarList.list.
type CalendarList struct {
	Kind          string               `json:"kind"`
	Etag          string               `json:"etag"`
	Items         []*CalendarListEntry `json:"items"`
	NextPageToken string               `json:"nextPageToken,omitempty"`
	NextSyncToken string               `json:"nextSyncToken,omitempty"`
}

// Calendar is a calendar resource (calendars.insert).
type Calendar struct {
	Kind        string `json:"kind,omitempty"`
	Etag        string `json:"etag,omitempty"`
	ID          string `json:"id,omitempty"`
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
	Location    string `json:"location,omitempty"`
	TimeZone    string `json:"timeZone,omitempty"`
}

// ErrorItem is one error of an error answer.
type ErrorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
}

// ErrorBody is an error answer's "error".
type ErrorBody struct {
	Errors  []ErrorItem `json:"errors"`
	Code    int         `json:"code"`
	Message string      `json:"message"`
}
