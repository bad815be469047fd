package planningnow

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	calgate "github.com/calgate/calgate"
)

// wholeNumber reads an id written as a JSON number or as text.
func wholeNumber(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	case float64:
		if x != math.Trunc(x) {
			return 0, false
		}
		return int64(x), true
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// objects returns the list under key as objects, or an error naming it.
func objects(m map[string]any, key, at string) ([]map[string]any, error) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, calgate.Invalid(at+key, "must be a list of objects")
	}
	out := make([]map[string]any, len(list))
	for i, el := range list {
		o, ok := el.(map[string]any)
		if !ok {
			return nil, calgate.Invalid(fmt.Sprintf("%s%s[%d]", at, key, i), "must be an object")
		}
		out[i] = o
	}
	return out, nil
}

// assignIDs gives positions and tasks sent without an id the next free
// number of the order (as PlanningNow hands out ids), counting the ids of
// the order as stored too, so that an id once used is not given again.
func assignIDs(order, stored map[string]any) error {
	var maxPos, maxTask int64
	scan := func(o map[string]any) {
		positions, _ := objects(o, "positions", "")
		for _, pos := range positions {
			if n, ok := wholeNumber(pos["id"]); ok && n > maxPos {
				maxPos = n
			}
			tasks, _ := objects(pos, "tasks", "")
			for _, t := range tasks {
				if n, ok := wholeNumber(t["id"]); ok && n > maxTask {
					maxTask = n
				}
			}
		}
	}
	if stored != nil {
		scan(stored)
	}
	scan(order)
	positions, err := objects(order, "positions", "")
	if err != nil {
		return err
	}
	for i, pos := range positions {
		if pos["id"] == nil {
			maxPos++
			pos["id"] = json.Number(strconv.FormatInt(maxPos, 10))
		}
		tasks, err := objects(pos, "tasks", fmt.Sprintf("positions[%d].", i))
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t["id"] == nil {
				maxTask++
				t["id"] = json.Number(strconv.FormatInt(maxTask, 10))
			}
		}
	}
	return nil
}

// mergeOrder applies a PATCH body to the stored order: fields replace
// fields (null removes one); positions are matched by id, else by pos_no,
// and merged the same way, their tasks matched by id; positions and tasks
// that match none are added, and those the patch does not name stay.
func mergeOrder(old, patch map[string]any) map[string]any {
	out := mergeFields(old, patch, "positions")
	if raw, ok := patch["positions"]; ok {
		if list, ok := raw.([]any); ok {
			out["positions"] = mergeList(old["positions"], list, func(a, b map[string]any) bool {
				if b["id"] != nil {
					return sameID(a["id"], b["id"])
				}
				return b["pos_no"] != nil && sameID(a["pos_no"], b["pos_no"])
			}, func(a, b map[string]any) map[string]any {
				m := mergeFields(a, b, "tasks")
				if raw, ok := b["tasks"]; ok {
					if tasks, ok := raw.([]any); ok {
						m["tasks"] = mergeList(a["tasks"], tasks, func(x, y map[string]any) bool {
							return y["id"] != nil && sameID(x["id"], y["id"])
						}, func(x, y map[string]any) map[string]any { return mergeFields(x, y, "") })
					} else {
						m["tasks"] = raw
					}
				}
				return m
			})
		} else {
			out["positions"] = raw
		}
	}
	return out
}

// mergeFields copies old and sets patch's fields on it, except skip.
func mergeFields(old, patch map[string]any, skip string) map[string]any {
	out := make(map[string]any, len(old)+len(patch))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range patch {
		switch {
		case k == skip:
			continue
		case v == nil:
			delete(out, k)
		default:
			out[k] = v
		}
	}
	return out
}

func mergeList(oldRaw any, patch []any, match func(a, b map[string]any) bool, merge func(a, b map[string]any) map[string]any) []any {
	old, _ := oldRaw.([]any)
	out := append([]any(nil), old...)
	for _, el := range patch {
		b, ok := el.(map[string]any)
		if !ok {
			out = append(out, el)
			continue
		}
		found := false
		for i, x := range out {
			if a, ok := x.(map[string]any); ok && match(a, b) {
				out[i] = merge(a, b)
				found = true
				break
			}
		}
		if !found {
			out = append(out, b)
		}
	}
	return out
}

func sameID(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	x, okA := wholeNumber(a)
	y, okB := wholeNumber(b)
	if okA && okB {
		return x == y
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// cloneJSON copies a decoded JSON object deeply.
func cloneJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = cloneValue(el)
		}
		return out
	default:
		return v
	}
}
