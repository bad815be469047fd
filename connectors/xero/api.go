package xero

// The Xero Accounting API's objects, as far as calgate uses them, named as
// Xero names them.

// Phone is a contact's phone.
type Phone struct {
	PhoneType   string `json:"PhoneType"`
	PhoneNumber string `json:"PhoneNumber,omitempty"`
}

// Contact is a customer or supplier.
type Contact struct {
	ContactID     string  `json:"ContactID,omitempty"`
	Name          string  `json:"Name,omitempty"`
	EmailAddress  string  `json:"EmailAddress,omitempty"`
	Phones        []Phone `json:"Phones,omitempty"`
	ContactStatus string  `json:"ContactStatus,omitempty"`
}

// LineItem is one line of an invoice.
type LineItem struct {
	Description string  `json:"Description"`
	Quantity    float64 `json:"Quantity"`
	UnitAmount  float64 `json:"UnitAmount"`
	AccountCode string  `json:"AccountCode,omitempty"`
}

// Invoice is a sales (ACCREC) or purchase (ACCPAY) invoice.
type Invoice struct {
	InvoiceID      string     `json:"InvoiceID,omitempty"`
	Type           string     `json:"Type,omitempty"`
	Contact        *Contact   `json:"Contact,omitempty"`
	LineItems      []LineItem `json:"LineItems,omitempty"`
	Date           string     `json:"Date,omitempty"`
	DueDate        string     `json:"DueDate,omitempty"`
	Reference      string     `json:"Reference,omitempty"`
	Status         string     `json:"Status,omitempty"`
	InvoiceNumber  string     `json:"InvoiceNumber,omitempty"`
	UpdatedDateUTC string     `json:"UpdatedDateUTC,omitempty"`
}

// ValidationError is one message of an ApiException.
type ValidationError struct {
	Message string `json:"Message"`
}

type apiError struct {
	ErrorNumber int    `json:"ErrorNumber"`
	Type        string `json:"Type"`
	Message     string `json:"Message"`
	Elements    []struct {
		ValidationErrors []ValidationError `json:"ValidationErrors"`
	} `json:"Elements"`
	Title  string `json:"Title"`
	Detail string `json:"Detail"`
}
