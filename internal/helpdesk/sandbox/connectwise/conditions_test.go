package connectwise

import (
	"strings"
	"testing"
	"time"
)

type rec struct {
	id      int64
	summary string
	board   string
	closed  bool
	updated time.Time
	owner   int64
}

var recFields = fieldSet[rec]{
	"id":          {kNumber, func(r rec) val { return num(r.id) }},
	"summary":     {kString, func(r rec) val { return str(r.summary) }},
	"board/name":  {kString, func(r rec) val { return str(r.board) }},
	"closedflag":  {kBool, func(r rec) val { return boolean(r.closed) }},
	"lastupdated": {kTime, func(r rec) val { return tm(r.updated) }},
	"owner/id":    {kNumber, func(r rec) val { return refNum(r.owner) }},
}

func TestConditionsMatch(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	r := rec{id: 12, summary: "Printer offline on 3rd floor", board: "Help Desk", updated: t0.Add(500 * time.Millisecond), owner: 0}
	tests := []struct {
		cond string
		want bool
	}{
		{"", true},
		{"lastUpdated > [2024-05-01T00:00:00Z]", true},
		{"LastUpdated > [2024-05-01T00:00:01Z]", false},
		{"lastUpdated>[2024-05-01T00:00:00]", true},
		{`summary = "printer offline on 3rd floor"`, true},
		{`summary like "Printer*floor"`, true},
		{`summary like 'Printer*'`, true},
		{`summary contains "OFFLINE"`, true},
		{`summary not contains "offline"`, false},
		{`board/name = "Help Desk" AND id = 12`, true},
		{`board/name = "Projects" or id >= 12`, true},
		{`board/name = "Projects" or id > 12 and closedFlag = false`, false},
		{`(board/name = "Projects" or id >= 12) and closedFlag = False`, true},
		{`id in (1, 12, 30)`, true},
		{`id not in (1, 30)`, true},
		{`owner/id = null`, true},
		{`owner/id != null`, false},
		{`owner/id = 5`, false},
		{`summary = "say \"hi\""`, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			n, err := parseConditions(tt.cond)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := compile(n, recFields)
			if err != nil {
				t.Fatal(err)
			}
			if got := pred(r); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionsRejected(t *testing.T) {
	tests := map[string]string{
		"lastUpdated > 2024-05-01T00:00:00Z": "unexpected",
		`lastUpdated > "2024-05-01"`:         "datetime field",
		"summary = Printer":                  "expected a value",
		"summary = 5":                        "string field",
		"id = \"12\"":                        "number field",
		"nosuch = 1":                         "unknown field",
		"lastUpdated > [yesterday]":          "bad datetime",
		"lastUpdated > [2024-05-01":          "unterminated",
		`summary = "open`:                    "unterminated",
		"id = 1 and":                         "expected a field",
		"(id = 1":                            "expected ')'",
		"id = 1 id = 2":                      "unexpected",
		"closedFlag > true":                  "boolean field",
		"id contains 1":                      "contains",
		"id in 1":                            "parenthesised list",
		"id ! 1":                             "unexpected '!'",
		"summary not = \"x\"":                "'not' before",
		"id = 1 ; drop":                      "unexpected",
	}
	for cond, want := range tests {
		t.Run(cond, func(t *testing.T) {
			n, err := parseConditions(cond)
			if err == nil {
				_, err = compile(n, recFields)
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to mention %q", err, want)
			}
		})
	}
}

func FuzzConditions(f *testing.F) {
	for _, s := range []string{`lastUpdated > [2024-05-01T00:00:00Z] AND summary like "a*"`, `(id in (1,2)) or owner/id = null`, `"`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseConditions(s)
		if err != nil {
			return
		}
		if pred, err := compile(n, recFields); err == nil {
			pred(rec{})
		}
	})
}
