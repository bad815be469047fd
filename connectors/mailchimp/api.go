package mailchimp

// The Marketing API's payloads as far as calgate uses them, named as
// Mailchimp names them.

// Metadata is the OAuth metadata endpoint's answer.
type Metadata struct {
	DC          string `json:"dc"`
	AccountName string `json:"accountname"`
	APIEndpoint string `json:"api_endpoint"`
}

// Root is the API root's answer (the account).
type Root struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
}

// MergeFields are the member's merge fields calgate writes.
type MergeFields struct {
	FNAME string `json:"FNAME,omitempty"`
	LNAME string `json:"LNAME,omitempty"`
	PHONE string `json:"PHONE,omitempty"`
}

// MemberPut is the body of "add or update list member". It has no status:
// an existing member's status is left as it is.
type MemberPut struct {
	EmailAddress string       `json:"email_address"`
	StatusIfNew  string       `json:"status_if_new"`
	MergeFields  *MergeFields `json:"merge_fields,omitempty"`
}

// Member is a list member as the API answers it.
type Member struct {
	ID           string `json:"id"`
	EmailAddress string `json:"email_address"`
	Status       string `json:"status"`
}

// Tag is one tag of a member's tags request.
type Tag struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Tags is the body of "add or remove member tags".
type Tags struct {
	Tags []Tag `json:"tags"`
}

// FieldError is one field's error of a problem.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an error answer (RFC 7807).
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Errors   []FieldError `json:"errors,omitempty"`
}
