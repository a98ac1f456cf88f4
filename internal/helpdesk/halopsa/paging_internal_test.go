package halopsa

import "testing"

func TestSizeInForce(t *testing.T) {
	cases := []struct {
		name                      string
		asked, reported, firstLen int
		want                      int
	}{
		{"server says it capped", 500, 100, 100, 100},
		{"server echoes the size asked within the cap", 100, 100, 7, 100},
		{"server echoes a size beyond the cap", 500, 500, 100, 100},
		{"no page_size in the envelope", 50, 0, 20, 20},
		{"empty first page", 100, 0, 0, 100},
		{"full first page", 100, 0, 100, 100},
	}
	for _, tc := range cases {
		if got := sizeInForce(tc.asked, tc.reported, tc.firstLen); got != tc.want {
			t.Errorf("%s: sizeInForce(%d, %d, %d) = %d, want %d", tc.name, tc.asked, tc.reported, tc.firstLen, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-01T10:15:30.1234567Z": "2024-05-01T10:15:30.1234567Z",
		"2024-05-01T10:15:30.000Z":     "2024-05-01T10:15:30Z",
		"2024-05-01T10:15:30":          "2024-05-01T10:15:30Z",
		"2024-05-01T10:15:30.5":        "2024-05-01T10:15:30.5Z",
		"2024-05-01T12:15:30+02:00":    "2024-05-01T10:15:30Z",
		"2024-05-01":                   "2024-05-01T00:00:00Z",
		"1900-01-01T00:00:00":          "0001-01-01T00:00:00Z",
		"":                             "0001-01-01T00:00:00Z",
		"yesterday":                    "0001-01-01T00:00:00Z",
	} {
		if got := parseTime(in).Format("2006-01-02T15:04:05.9999999Z07:00"); got != want {
			t.Errorf("parseTime(%q) = %s, want %s", in, got, want)
		}
	}
}
