package hubspot

// The CRM API's payloads as far as calgate uses them, named as HubSpot
// names them.

// AccountDetails is the account information's answer.
type AccountDetails struct {
	PortalID int64  `json:"portalId"`
	UIDomain string `json:"uiDomain"`
	TimeZone string `json:"timeZone"`
}

// UpsertInput is one record of a batch upsert, identified by a unique
// property's value.
type UpsertInput struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// BatchUpsert is the body of a batch upsert.
type BatchUpsert struct {
	Inputs []UpsertInput `json:"inputs"`
}

// Object is a CRM record in an answer.
type Object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	New        bool              `json:"new"`
}

// BatchResult is a batch endpoint's answer.
type BatchResult struct {
	Status  string       `json:"status"`
	Results []Object     `json:"results"`
	Errors  []BatchError `json:"errors,omitempty"`
}

// BatchError is one error of a batch answer.
type BatchError struct {
	Status   string `json:"status"`
	Category string `json:"category"`
	Message  string `json:"message"`
}

// ObjectID names a record.
type ObjectID struct {
	ID string `json:"id"`
}

// BatchIDs is the body of a batch archive.
type BatchIDs struct {
	Inputs []ObjectID `json:"inputs"`
}

// AssociationInput is one pair of a default association batch.
type AssociationInput struct {
	From ObjectID `json:"from"`
	To   ObjectID `json:"to"`
}

// BatchAssociations is the body of a default association batch.
type BatchAssociations struct {
	Inputs []AssociationInput `json:"inputs"`
}

// Error is an error answer.
type Error struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	Category      string `json:"category"`
	ErrorType     string `json:"errorType"`
	CorrelationID string `json:"correlationId"`
	PolicyName    string `json:"policyName"`
}
