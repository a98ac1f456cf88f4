// Package deploy_test checks the deployment files as a user applies them:
// the kustomize base, the Dockerfile, its build context and the example CI
// workflow.
package deploy_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func load(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestKustomizeBaseHasItsNamespace: the base sets namespace: horizon, so it
// must create that namespace, and the namespace's Pod Security level must
// admit the base's own pods.
func TestKustomizeBaseHasItsNamespace(t *testing.T) {
	k := load(t, "kubernetes/kustomization.yaml")
	ns, _ := k["namespace"].(string)
	resources, _ := k["resources"].([]any)
	if ns == "" || !slices.Contains(resources, any("namespace.yaml")) {
		t.Fatalf("namespace %q, resources %v: the base must list namespace.yaml", ns, resources)
	}
	n := load(t, "kubernetes/namespace.yaml")
	if n["kind"] != "Namespace" || get(n, "metadata", "name") != ns {
		t.Errorf("namespace.yaml is %v %v, want Namespace %s", n["kind"], get(n, "metadata", "name"), ns)
	}
	if get(n, "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted" {
		t.Error("the namespace does not enforce the restricted Pod Security Standard")
	}
	d := load(t, "kubernetes/deployment.yaml")
	pod := get(d, "spec", "template", "spec", "securityContext")
	if get(pod, "runAsNonRoot") != true || get(pod, "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("pod securityContext %v is not restricted", pod)
	}
	containers, _ := get(d, "spec", "template", "spec", "containers").([]any)
	for _, c := range containers {
		sc := get(c, "securityContext")
		drop, _ := get(sc, "capabilities", "drop").([]any)
		if get(sc, "allowPrivilegeEscalation") != false || !slices.Contains(drop, any("ALL")) {
			t.Errorf("container %v: securityContext %v is not restricted: the namespace would refuse the pod", get(c, "name"), sc)
		}
	}
}

// pinned matches an image reference that cannot float: an exact x.y.z
// version or a digest.
var pinned = regexp.MustCompile(`(:\d+\.\d+\.\d+[^@\s]*|@sha256:[0-9a-f]{64})$`)

// TestBaseImagesPinned: every image the Dockerfile pulls, the syntax
// frontend included, is pinned; scratch and earlier stages need no pin.
func TestBaseImagesPinned(t *testing.T) {
	f, err := os.Open("kubernetes/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]bool{"scratch": true}
	sc := bufio.NewScanner(f)
	froms := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if ref, ok := strings.CutPrefix(line, "# syntax="); ok && !pinned.MatchString(ref) {
			t.Errorf("syntax frontend %s is not pinned", ref)
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		froms++
		fields = slices.DeleteFunc(fields[1:], func(s string) bool { return strings.HasPrefix(s, "--") })
		if image := fields[0]; !stages[image] && !pinned.MatchString(image) {
			t.Errorf("FROM %s floats: pin an exact version or a digest", image)
		}
		if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
			stages[fields[2]] = true
		}
	}
	if froms == 0 {
		t.Fatal("no FROM line")
	}
}

// TestDockerignore: local databases, demo files and the Git history never
// reach the build context.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{".git", "**/*.db", "**/*.db-*", "horizon-demo", "**/secrets"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// minMajor is the oldest major of each action that is not deprecated (the
// older ones run on retired Node.js versions).
var minMajor = map[string]int{"actions/checkout": 5, "actions/setup-go": 6}

// TestWorkflowActionsCurrent: the example workflow uses current majors.
func TestWorkflowActionsCurrent(t *testing.T) {
	data, err := os.ReadFile("ci/github-actions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	uses := regexp.MustCompile(`(?m)^\s*(?:-\s*)?uses:\s*([^@\s]+)@v(\d+)\s*$`).FindAllStringSubmatch(string(data), -1)
	seen := map[string]bool{}
	for _, u := range uses {
		major, _ := strconv.Atoi(u[2])
		if min, ok := minMajor[u[1]]; ok && major < min {
			t.Errorf("%s@v%d is deprecated; use v%d or later", u[1], major, min)
		}
		seen[u[1]] = true
	}
	for action := range minMajor {
		if !seen[action] {
			t.Errorf("the workflow does not use %s@vN", action)
		}
	}
}
