package template

import (
	"fmt"

	"github.com/calgate/calgate"
)

// Whole documents.
//
// A template with "document" maps records that are sent whole, as an order
// with its positions and tasks: the mapping, evaluated on the record
// itself (not on the elements for_each walks), gives the record's document
// key, and importing the record replaces the document. Its entries that
// the record no longer holds are archived in the transaction that writes
// the rest, and an archived entry that comes back is restored.
//
//	"document": {"path": "id", "transform": [{"type": "format", "pattern": "planningnow:order:{}"}]}
//
// "archived" lists paths, read on each element like the fields' paths;
// when one of them holds a true value, the element was deleted in the
// other system (or sits in a deleted parent): it gives no entry, so
// replacing the document archives its entry. It needs "document".
//
//	"archived": ["is_archive", "^.is_archive", "$.is_archive"]

// readDocument compiles the document and archived mappings.
func (t *Template) readDocument(o *object, c *compiler) {
	if raw, ok := o.raw("document"); ok {
		if t.Tabular {
			c.errs.Add("document", "does not apply to tabular templates: each row is a record of its own")
		} else {
			depth := c.depth
			c.depth = 0
			t.doc = c.mapping(raw, "document", "document")
			c.depth = depth
		}
	}
	if paths, ok := o.strings("archived"); ok {
		if !o.has("document") {
			c.errs.Add("archived", "needs document: an archived element is archived by replacing its document")
		}
		for i, s := range paths {
			if p, ok := c.path(s, fmt.Sprintf("archived[%d]", i)); ok {
				t.archived = append(t.archived, p)
			}
		}
	}
}

// Whole reports whether the template maps documents sent whole.
func (t *Template) Whole() bool { return t.doc != nil }

// DocumentKey returns the document key of one record of a whole-document
// template.
func (t *Template) DocumentKey(record any) (string, error) {
	if t.doc == nil {
		return "", fmt.Errorf("imports: template %q maps no documents", t.Name)
	}
	v, ok, err := t.doc.eval(levelGetter{{value: record}})
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("the record has no document key (%s)", describe(t.doc))
	}
	s, err := text(v)
	if err != nil {
		return "", err
	}
	if len(s) > calgate.MaxIDLength {
		return "", fmt.Errorf("the document key is longer than %d bytes", calgate.MaxIDLength)
	}
	return s, nil
}

func describe(fm *fieldMap) string {
	if fm.path != nil {
		return "path " + fm.path.raw
	}
	return "its mapping gives no value"
}

// isArchived reads the archived paths on an element: true when one holds
// a true value.
func (t *Template) isArchived(g getter) (bool, string, error) {
	for _, p := range t.archived {
		v, ok := g.get(p)
		if !present(v, ok) {
			continue
		}
		b, err := toBool(v)
		if err != nil {
			return false, p.raw, err
		}
		if b {
			return true, p.raw, nil
		}
	}
	return false, "", nil
}
