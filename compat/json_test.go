package compat

import (
	"encoding/json"
	"testing"
)

func TestQuoteKeysReadsTheDocumentationsObjects(t *testing.T) {
	for in, want := range map[string]string{
		`{ simulate: false, verbose: true, stopOnError: false, model: { Nom_usage: "a: b, c", "x": [1, {y: 2}] } }`: `{"simulate":false,"verbose":true,"stopOnError":false,"model":{"Nom_usage":"a: b, c","x":[1,{"y":2}]}}`,
		`{"already": "quoted", "esc": "say \"k: v\""}`:                                                              `{"already":"quoted","esc":"say \"k: v\""}`,
		`[true, false, null]`: `[true,false,null]`,
	} {
		var v any
		if err := json.Unmarshal(QuoteKeys([]byte(in)), &v); err != nil {
			t.Fatalf("%s: %v (%s)", in, err, QuoteKeys([]byte(in)))
		}
		got, _ := json.Marshal(v)
		var w any
		_ = json.Unmarshal([]byte(want), &w)
		wantJSON, _ := json.Marshal(w)
		if string(got) != string(wantJSON) {
			t.Errorf("%s\n got %s\nwant %s", in, got, wantJSON)
		}
	}
	// Values that are not keys stay invalid.
	if json.Valid(QuoteKeys([]byte(`{"a": nope}`))) {
		t.Fatal("a bare value became valid JSON")
	}
}
