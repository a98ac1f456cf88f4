package helpdesk

import "testing"

func TestRedactURL(t *testing.T) {
	const secret = Secret("Sup3rSecretToken")
	for _, tc := range []struct{ in, want string }{
		{"https://h.example/callbacks/connectwise?token=abc123&recordId=", "https://h.example/callbacks/connectwise?recordId=&token=<secret>"},
		{"https://h.example/callbacks/zohodesk?TOKEN=abc&x=1", "https://h.example/callbacks/zohodesk?TOKEN=<secret>&x=1"},
		{"https://h.example/cb?api_key=k&signature=s&code=c", "https://h.example/cb?api_key=<secret>&code=<secret>&signature=<secret>"},
		{"https://user:pw@h.example/cb", "https://user:<secret>@h.example/cb"},
		{"https://h.example/callbacks/halopsa/s3cr3tpath", "https://h.example/callbacks/halopsa/<secret>"},
		{"https://h.example/hooks/Sup3rSecretToken/x", "https://h.example/hooks/<secret>/x"},
		{"https://h.example/callbacks/halopsa", "https://h.example/callbacks/halopsa"},
		{"::bad url Sup3rSecretToken", "::bad url <secret>"},
		{"", ""},
	} {
		if got := RedactURL(tc.in, secret); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
