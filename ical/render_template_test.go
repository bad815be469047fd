package ical

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/calgate/calgate"
)

func TestParseTemplateRefusesUnknownPlaceholders(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"{workstage}: {ordr}", "unknown placeholder {ordr}"},
		{"{title|nope}", "unknown placeholder {nope}"},
		{"{attributes.}", "unknown placeholder {attributes.}"},
		{"{}", "unknown placeholder {}"},
		{"{title", "unclosed placeholder"},
		{"title}", "unmatched }"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseTemplate(tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTemplate(%q) error %v, want one containing %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestTemplateExecuteCollapsesEmptyParts(t *testing.T) {
	qty := 4
	job := &calgate.Entry{Kind: calgate.KindJob, Resource: "Milling", Details: calgate.Details{Order: "A-1", Product: "Gear"}, Version: 2,
		Attributes: json.RawMessage(`{"shift":"early","line":3,"nested":{"a":1}}`)}
	res := &calgate.Entry{Kind: calgate.KindReservation, Resource: "Room 1", Details: calgate.Details{Quantity: &qty, Customer: &calgate.Customer{Name: "Ada", Email: "ada@example.com"}}}
	win := &calgate.Entry{Kind: calgate.KindProductionWindow, Resource: "CC-400", Details: calgate.Details{Activity: "Setup"}}
	tests := []struct {
		name, src string
		e         *calgate.Entry
		want      string
	}{
		{"all parts", "{workstage}: {order} / {product}", job, "Milling: A-1 / Gear"},
		{"middle empty", "{workstage}: {order} / {product}", &calgate.Entry{Kind: calgate.KindJob, Resource: "Milling", Details: calgate.Details{Product: "Gear"}}, "Milling: Gear"},
		{"first empty", "{workstage}: {order} / {product}", &calgate.Entry{Kind: calgate.KindJob, Details: calgate.Details{Order: "A-1", Product: "Gear"}}, "A-1 / Gear"},
		{"last empty", "{workstage}: {order} / {product}", &calgate.Entry{Kind: calgate.KindJob, Resource: "Milling", Details: calgate.Details{Order: "A-1"}}, "Milling: A-1"},
		{"all empty", "{workstage}: {order} / {product}", &calgate.Entry{Kind: calgate.KindJob}, ""},
		{"leading and trailing text", "Job {order} (v{version})", job, "Job A-1 (v2)"},
		{"attributes", "{order} {attributes.shift} line {attributes.line}", job, "A-1 early line 3"},
		{"nested attribute as JSON", "{attributes.nested}", job, `{"a":1}`},
		{"missing attribute", "{order} / {attributes.none}", job, "A-1"},
		{"fallback", "{title|resource}", res, "Room 1"},
		{"customer and quantity", "{customer.name} ({quantity})", res, "Ada (4)"},
		{"customer is its name", "{customer}", res, "Ada"},
		{"field of another kind is empty", "{product}{activity}", win, "Setup"},
		{"literal braces", "{{{order}}}", job, "{A-1}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Execute(tc.e); got != tc.want {
				t.Errorf("Execute = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDefaultTitles(t *testing.T) {
	tests := []struct {
		name string
		e    *calgate.Entry
		want string
	}{
		{"reservation title", &calgate.Entry{Kind: calgate.KindReservation, Title: "Visit", Resource: "Room 1"}, "Visit"},
		{"reservation resource", &calgate.Entry{Kind: calgate.KindReservation, Resource: "Room 1"}, "Room 1"},
		{"job", &calgate.Entry{Kind: calgate.KindJob, Resource: "Paint", Details: calgate.Details{Order: "7", Product: "Door"}}, "Paint: 7 / Door"},
		{"job without order", &calgate.Entry{Kind: calgate.KindJob, Resource: "Paint", Details: calgate.Details{Product: "Door"}}, "Paint: Door"},
		{"production window", &calgate.Entry{Kind: calgate.KindProductionWindow, Resource: "CC-1", Details: calgate.Details{Activity: "Run"}}, "CC-1: Run"},
		{"production window without activity", &calgate.Entry{Kind: calgate.KindProductionWindow, Resource: "CC-1"}, "CC-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultTitle(tc.e.Kind).Execute(tc.e); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
