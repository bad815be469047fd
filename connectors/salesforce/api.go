package salesforce

import "encoding/json"

// The REST API's payloads as far as calgate uses them, named as Salesforce
// names them.

// Attributes names a record's sObject type.
type Attributes struct {
	Type string `json:"type"`
}

// Contact is a Contact record. The external id field is added by name.
type Contact struct {
	FirstName *string `json:"FirstName"`
	LastName  string  `json:"LastName"`
	Email     *string `json:"Email"`
	Phone     *string `json:"Phone"`
}

// Event is an Event record. Timed events carry StartDateTime and
// EndDateTime; all-day events IsAllDayEvent, ActivityDate and
// DurationInMinutes. Nil fields are sent as null, which clears them.
type Event struct {
	WhoId             *string `json:"WhoId"`
	Subject           string  `json:"Subject"`
	IsAllDayEvent     bool    `json:"IsAllDayEvent"`
	StartDateTime     *string `json:"StartDateTime,omitempty"`
	EndDateTime       *string `json:"EndDateTime,omitempty"`
	ActivityDate      *string `json:"ActivityDate,omitempty"`
	DurationInMinutes *int    `json:"DurationInMinutes,omitempty"`
	Location          *string `json:"Location"`
	Description       *string `json:"Description"`
	ShowAs            string  `json:"ShowAs"`
}

// Record is one record of an sObject Collections upsert: its attributes
// map, its external id field and its fields (a Contact or an Event).
type Record struct {
	Type            string
	ExternalIDField string
	ExternalID      string
	Fields          any
}

// MarshalJSON writes the record as Salesforce reads it:
// {"attributes": {"type": …}, "<external id field>": …, fields…}.
func (r Record) MarshalJSON() ([]byte, error) {
	fields, err := json.Marshal(r.Fields)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(map[string]any{"attributes": Attributes{Type: r.Type}, r.ExternalIDField: r.ExternalID})
	if err != nil {
		return nil, err
	}
	if string(fields) == "{}" {
		return head, nil
	}
	return append(append(head[:len(head)-1], ','), fields[1:]...), nil
}

// CollectionRequest is the body of an sObject Collections upsert.
type CollectionRequest struct {
	AllOrNone bool     `json:"allOrNone"`
	Records   []Record `json:"records"`
}

// RecordError is one error of a record in a collection's answer.
type RecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// SaveResult is the outcome of one record of an sObject Collections call
// (UpsertResult with created, DeleteResult without).
type SaveResult struct {
	ID      string        `json:"id"`
	Success bool          `json:"success"`
	Errors  []RecordError `json:"errors"`
	Created bool          `json:"created"`
}

// apiError is one error of a request the API refused as a whole.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// Error codes calgate acts on.
const (
	CodeRequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"
	CodeEntityIsDeleted      = "ENTITY_IS_DELETED"
	CodeInvalidCrossRefKey   = "INVALID_CROSS_REFERENCE_KEY"
)
