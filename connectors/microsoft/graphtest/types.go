package graphtest

// The Microsoft Graph resources the fake serves, named as Graph names
// them.

// DateTimeTimeZone is a wall-clock time and the time zone (Windows or
// IANA name) it is read in.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// ItemBody is an event's body.
type ItemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// Location is an event's place.
type Location struct {
	DisplayName string `json:"displayName"`
}

// SingleValueExtendedProperty is a MAPI property set on an item.
type SingleValueExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Removed marks an item of a delta page that left the view.
type Removed struct {
	Reason string `json:"reason"`
}

// Event is an event resource.
type Event struct {
	ODataType                     string                        `json:"@odata.type,omitempty"`
	ODataEtag                     string                        `json:"@odata.etag,omitempty"`
	ID                            string                        `json:"id,omitempty"`
	CreatedDateTime               string                        `json:"createdDateTime,omitempty"`
	LastModifiedDateTime          string                        `json:"lastModifiedDateTime,omitempty"`
	ChangeKey                     string                        `json:"changeKey,omitempty"`
	ICalUID                       string                        `json:"iCalUId,omitempty"`
	Subject                       string                        `json:"subject,omitempty"`
	Body                          *ItemBody                     `json:"body,omitempty"`
	Start                         *DateTimeTimeZone             `json:"start,omitempty"`
	End                           *DateTimeTimeZone             `json:"end,omitempty"`
	OriginalStartTimeZone         string                        `json:"originalStartTimeZone,omitempty"`
	OriginalEndTimeZone           string                        `json:"originalEndTimeZone,omitempty"`
	IsAllDay                      *bool                         `json:"isAllDay,omitempty"`
	IsCancelled                   bool                          `json:"isCancelled,omitempty"`
	Location                      *Location                     `json:"location,omitempty"`
	ShowAs                        string                        `json:"showAs,omitempty"`
	Categories                    []string                      `json:"categories,omitempty"`
	IsReminderOn                  *bool                         `json:"isReminderOn,omitempty"`
	TransactionID                 string                        `json:"transactionId,omitempty"`
	SingleValueExtendedProperties []SingleValueExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
	Removed                       *Removed                      `json:"@removed,omitempty"`
}

// Calendar is a calendar resource.
type Calendar struct {
	ID                string        `json:"id,omitempty"`
	Name              string        `json:"name"`
	Color             string        `json:"color,omitempty"`
	ChangeKey         string        `json:"changeKey,omitempty"`
	CanEdit           bool          `json:"canEdit"`
	CanShare          bool          `json:"canShare"`
	IsDefaultCalendar bool          `json:"isDefaultCalendar"`
	Owner             *EmailAddress `json:"owner,omitempty"`
}

// EmailAddress names a mailbox.
type EmailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// User is the signed-in user (/me).
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// ErrorDetail is an error answer's "error".
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
