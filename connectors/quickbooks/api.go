package quickbooks

// The QuickBooks Online Accounting API's objects, as far as calgate uses
// them, named as Intuit names them.

// Ref points at another object.
type Ref struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// EmailAddress is a customer's e-mail.
type EmailAddress struct {
	Address string `json:"Address,omitempty"`
}

// TelephoneNumber is a customer's phone.
type TelephoneNumber struct {
	FreeFormNumber string `json:"FreeFormNumber,omitempty"`
}

// Customer is a customer of the company.
type Customer struct {
	ID               string           `json:"Id,omitempty"`
	SyncToken        string           `json:"SyncToken,omitempty"`
	DisplayName      string           `json:"DisplayName"`
	PrimaryEmailAddr *EmailAddress    `json:"PrimaryEmailAddr,omitempty"`
	PrimaryPhone     *TelephoneNumber `json:"PrimaryPhone,omitempty"`
}

// SalesItemLineDetail is what a sales line sells.
type SalesItemLineDetail struct {
	ItemRef     Ref     `json:"ItemRef"`
	Qty         float64 `json:"Qty"`
	UnitPrice   float64 `json:"UnitPrice"`
	ServiceDate string  `json:"ServiceDate,omitempty"`
}

// Line is one line of a sales transaction.
type Line struct {
	ID                  string               `json:"Id,omitempty"`
	DetailType          string               `json:"DetailType"`
	Amount              float64              `json:"Amount"`
	Description         string               `json:"Description,omitempty"`
	SalesItemLineDetail *SalesItemLineDetail `json:"SalesItemLineDetail,omitempty"`
}

// Transaction is an Invoice or a SalesReceipt: the fields calgate sets
// and reads are the same for both.
type Transaction struct {
	ID          string  `json:"Id,omitempty"`
	SyncToken   string  `json:"SyncToken,omitempty"`
	Sparse      bool    `json:"sparse,omitempty"`
	CustomerRef *Ref    `json:"CustomerRef,omitempty"`
	Line        []Line  `json:"Line,omitempty"`
	PrivateNote string  `json:"PrivateNote,omitempty"`
	TxnDate     string  `json:"TxnDate,omitempty"`
	DocNumber   string  `json:"DocNumber,omitempty"`
	TotalAmt    float64 `json:"TotalAmt,omitempty"`
}

// FaultError is one error of a Fault.
type FaultError struct {
	Message string `json:"Message"`
	Detail  string `json:"Detail,omitempty"`
	Code    string `json:"code"`
	Element string `json:"element,omitempty"`
}

// Fault is an error answer's body.
type Fault struct {
	Error []FaultError `json:"Error"`
	Type  string       `json:"type"`
}

type faultResponse struct {
	Fault Fault `json:"Fault"`
}

// Codes of Fault errors calgate acts on.
const (
	// CodeStaleObject is a write with an old SyncToken.
	CodeStaleObject = "5010"
	// CodeDuplicateName is a customer whose DisplayName is taken.
	CodeDuplicateName = "6240"
)
