package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// object is a JSON object that remembers the order of its keys, so that the
// generated reference follows the order of the schema document.
type object struct {
	keys   []string
	values map[string]any
}

// get returns the value of key, or nil.
func (o *object) get(key string) any {
	if o == nil {
		return nil
	}
	return o.values[key]
}

// obj returns the value of key as an object, or nil.
func (o *object) obj(key string) *object {
	v, _ := o.get(key).(*object)
	return v
}

// str returns the value of key as a string, or "".
func (o *object) str(key string) string {
	v, _ := o.get(key).(string)
	return v
}

// strings returns the value of key as a list of strings.
func (o *object) strings(key string) []string {
	list, _ := o.get(key).([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseOrdered decodes a JSON document into *object, []any and scalars.
func parseOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		return decodeObject(dec)
	case json.Delim('['):
		return decodeArray(dec)
	}
	return tok, nil
}

func decodeObject(dec *json.Decoder) (*object, error) {
	o := &object{values: map[string]any{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		v, err := decodeValue(dec)
		if err != nil {
			return nil, err
		}
		o.keys = append(o.keys, key)
		o.values[key] = v
	}
	_, err := dec.Token() // closing brace
	return o, err
}

func decodeArray(dec *json.Decoder) ([]any, error) {
	list := []any{}
	for dec.More() {
		v, err := decodeValue(dec)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	_, err := dec.Token() // closing bracket
	return list, err
}
