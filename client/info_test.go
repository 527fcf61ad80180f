package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectCI(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want CIVars
		ok   bool
	}{
		{name: "none", env: map[string]string{"HOME": "/root", "CI": "true"}},
		{
			name: "github push",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_SHA": "9f1c2e3d4b5a69788796a5b4c3d2e1f009f1c2e3",
				"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REPOSITORY": "gin-gonic/gin",
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "123456", "GITHUB_RUN_ATTEMPT": "1",
			},
			want: CIVars{Name: "github-actions", Commit: "9f1c2e3d4b5a69788796a5b4c3d2e1f009f1c2e3", Branch: "main",
				BuildURL: "https://github.com/gin-gonic/gin/actions/runs/123456", Package: "gin", PackageFrom: "GITHUB_REPOSITORY"},
			ok: true,
		},
		{
			name: "github pull request, second attempt",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abcdef1234567", "GITHUB_REF": "refs/pull/42/merge",
				"GITHUB_HEAD_REF": "fix/flaky", "GITHUB_REPOSITORY": "o/pony", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "2",
			},
			want: CIVars{Name: "github-actions", Commit: "abcdef1234567", Branch: "fix/flaky", PullRequest: "42",
				BuildURL: "https://github.com/o/pony/actions/runs/9/attempts/2", Package: "pony", PackageFrom: "GITHUB_REPOSITORY"},
			ok: true,
		},
		{
			name: "github tag",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.2.0", "GITHUB_SHA": "abcdef1234567"},
			want: CIVars{Name: "github-actions", Commit: "abcdef1234567"},
			ok:   true,
		},
		{
			name: "gitlab branch",
			env: map[string]string{
				"GITLAB_CI": "true", "CI_COMMIT_SHA": "0123456789abcdef", "CI_COMMIT_BRANCH": "develop",
				"CI_COMMIT_REF_NAME": "develop", "CI_JOB_URL": "https://gitlab.com/g/sub/proj/-/jobs/77", "CI_PROJECT_PATH": "g/sub/proj",
			},
			want: CIVars{Name: "gitlab-ci", Commit: "0123456789abcdef", Branch: "develop",
				BuildURL: "https://gitlab.com/g/sub/proj/-/jobs/77", Package: "proj", PackageFrom: "CI_PROJECT_PATH"},
			ok: true,
		},
		{
			name: "gitlab merge request",
			env: map[string]string{
				"GITLAB_CI": "true", "CI_COMMIT_SHA": "0123456789abcdef", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
				"CI_COMMIT_REF_NAME": "refs/merge-requests/5/head", "CI_MERGE_REQUEST_IID": "5",
				"CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/3", "CI_PROJECT_PATH": "p",
			},
			want: CIVars{Name: "gitlab-ci", Commit: "0123456789abcdef", Branch: "feature", PullRequest: "5",
				BuildURL: "https://gitlab.example/p/-/pipelines/3", Package: "p", PackageFrom: "CI_PROJECT_PATH"},
			ok: true,
		},
		{
			name: "gitlab tag",
			env:  map[string]string{"GITLAB_CI": "true", "CI_COMMIT_TAG": "v2", "CI_COMMIT_REF_NAME": "v2", "CI_COMMIT_SHA": "0123456789abcdef"},
			want: CIVars{Name: "gitlab-ci", Commit: "0123456789abcdef"},
			ok:   true,
		},
		{
			name: "jenkins git plugin",
			env: map[string]string{
				"JENKINS_URL": "https://ci.example/", "GIT_COMMIT": "fedcba9876543210", "GIT_BRANCH": "origin/release-1.x",
				"BUILD_URL": "https://ci.example/job/pony/12/",
			},
			want: CIVars{Name: "jenkins", Commit: "fedcba9876543210", Branch: "release-1.x", BuildURL: "https://ci.example/job/pony/12/"},
			ok:   true,
		},
		{
			name: "jenkins multibranch change request",
			env: map[string]string{
				"JENKINS_URL": "https://ci.example/", "GIT_COMMIT": "fedcba9876543210", "BRANCH_NAME": "PR-8",
				"CHANGE_BRANCH": "topic", "CHANGE_ID": "8", "BUILD_URL": "https://ci.example/job/pony/PR-8/1/",
			},
			want: CIVars{Name: "jenkins", Commit: "fedcba9876543210", Branch: "topic", PullRequest: "8", BuildURL: "https://ci.example/job/pony/PR-8/1/"},
			ok:   true,
		},
		{
			name: "buildkite, commit not resolved yet",
			env: map[string]string{
				"BUILDKITE": "true", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_BRANCH": "main",
				"BUILDKITE_BUILD_URL": "https://buildkite.com/org/pony/builds/5", "BUILDKITE_PULL_REQUEST": "false",
			},
			want: CIVars{Name: "buildkite", Branch: "main", BuildURL: "https://buildkite.com/org/pony/builds/5"},
			ok:   true,
		},
		{
			name: "buildkite pull request",
			env: map[string]string{
				"BUILDKITE": "true", "BUILDKITE_COMMIT": "1234567890abcdef", "BUILDKITE_BRANCH": "topic",
				"BUILDKITE_BUILD_URL": "https://buildkite.com/org/pony/builds/6", "BUILDKITE_PULL_REQUEST": "17",
			},
			want: CIVars{Name: "buildkite", Commit: "1234567890abcdef", Branch: "topic", PullRequest: "17", BuildURL: "https://buildkite.com/org/pony/builds/6"},
			ok:   true,
		},
		{
			name: "circleci",
			env: map[string]string{
				"CIRCLECI": "true", "CIRCLE_SHA1": "aaaaaaaabbbbbbbb", "CIRCLE_BRANCH": "main",
				"CIRCLE_BUILD_URL": "https://circleci.com/gh/o/pony/99", "CIRCLE_PULL_REQUEST": "https://github.com/o/pony/pull/3",
			},
			want: CIVars{Name: "circleci", Host: "circleci", Commit: "aaaaaaaabbbbbbbb", Branch: "main", BuildURL: "https://circleci.com/gh/o/pony/99",
				PullRequest: "https://github.com/o/pony/pull/3"},
			ok: true,
		},
		{
			name: "github job",
			env: map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abcdef1234567", "GITHUB_REF": "refs/heads/main",
				"GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "test",
			},
			want: CIVars{Name: "github-actions", Commit: "abcdef1234567", Branch: "main", Job: "CI / test"},
			ok:   true,
		},
		{
			name: "gitlab job",
			env:  map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_JOB_NAME": "test: [go1.22]"},
			want: CIVars{Name: "gitlab-ci", Branch: "main", Job: "test: [go1.22]"},
			ok:   true,
		},
		{
			name: "jenkins job",
			env:  map[string]string{"JENKINS_HOME": "/var/jenkins_home", "BRANCH_NAME": "main", "JOB_NAME": "team/pony/main"},
			want: CIVars{Name: "jenkins", Branch: "main", Job: "team/pony/main"},
			ok:   true,
		},
		{
			name: "buildkite job",
			env:  map[string]string{"BUILDKITE": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_LABEL": ":go: test", "BUILDKITE_PULL_REQUEST": "false"},
			want: CIVars{Name: "buildkite", Branch: "main", Job: ":go: test"},
			ok:   true,
		},
		{
			name: "circleci job and repository",
			env: map[string]string{
				"CIRCLECI": "true", "CIRCLE_SHA1": "aaaaaaaabbbbbbbb", "CIRCLE_BRANCH": "main", "CIRCLE_JOB": "build-and-test",
				"CIRCLE_PROJECT_REPONAME": "pony", "CIRCLE_PR_NUMBER": "12",
			},
			want: CIVars{Name: "circleci", Host: "circleci", Commit: "aaaaaaaabbbbbbbb", Branch: "main", PullRequest: "12", Job: "build-and-test",
				Package: "pony", PackageFrom: "CIRCLE_PROJECT_REPONAME"},
			ok: true,
		},
		{
			name: "travis push",
			env: map[string]string{
				"TRAVIS": "true", "CI": "true", "TRAVIS_COMMIT": "e7090ffc4ef844d1a066a34037c913b429d7dc2a", "TRAVIS_BRANCH": "master",
				"TRAVIS_PULL_REQUEST": "false", "TRAVIS_REPO_SLUG": "asm-products/evergist", "TRAVIS_JOB_NAME": "unit tests",
				"TRAVIS_BUILD_WEB_URL": "https://app.travis-ci.com/asm-products/evergist/builds/46812085",
				"TRAVIS_JOB_WEB_URL":   "https://app.travis-ci.com/asm-products/evergist/jobs/46812086",
			},
			want: CIVars{Name: "travis-ci", Host: "travis-ci", Commit: "e7090ffc4ef844d1a066a34037c913b429d7dc2a", Branch: "master",
				BuildURL: "https://app.travis-ci.com/asm-products/evergist/builds/46812085", Job: "unit tests",
				Package: "evergist", PackageFrom: "TRAVIS_REPO_SLUG"},
			ok: true,
		},
		{
			name: "travis pull request",
			env: map[string]string{
				"TRAVIS": "true", "TRAVIS_COMMIT": "1111111111111111", "TRAVIS_BRANCH": "main", "TRAVIS_PULL_REQUEST": "31",
				"TRAVIS_PULL_REQUEST_BRANCH": "topic", "TRAVIS_PULL_REQUEST_SHA": "2222222222222222", "TRAVIS_REPO_SLUG": "o/pony",
				"TRAVIS_JOB_WEB_URL": "https://app.travis-ci.com/o/pony/jobs/5",
			},
			want: CIVars{Name: "travis-ci", Host: "travis-ci", Commit: "2222222222222222", Branch: "topic", PullRequest: "31",
				BuildURL: "https://app.travis-ci.com/o/pony/jobs/5", Package: "pony", PackageFrom: "TRAVIS_REPO_SLUG"},
			ok: true,
		},
		{
			name: "travis tag",
			env: map[string]string{
				"TRAVIS": "true", "TRAVIS_COMMIT": "1111111111111111", "TRAVIS_BRANCH": "v1.0", "TRAVIS_TAG": "v1.0", "TRAVIS_PULL_REQUEST": "false",
			},
			want: CIVars{Name: "travis-ci", Host: "travis-ci", Commit: "1111111111111111"},
			ok:   true,
		},
		{
			name: "azure pipelines push, GitHub repository",
			env: map[string]string{
				"TF_BUILD": "True", "BUILD_SOURCEVERSION": "3333333333333333", "BUILD_SOURCEBRANCH": "refs/heads/feature/x",
				"BUILD_SOURCEBRANCHNAME": "x", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/", "SYSTEM_TEAMPROJECT": "My Project",
				"BUILD_BUILDID": "1165935", "BUILD_REPOSITORY_NAME": "o/pony", "SYSTEM_JOBDISPLAYNAME": "Linux go1.22",
			},
			want: CIVars{Name: "azure-pipelines", Commit: "3333333333333333", Branch: "feature/x",
				BuildURL: "https://dev.azure.com/org/My%20Project/_build/results?buildId=1165935", Job: "Linux go1.22",
				Package: "pony", PackageFrom: "BUILD_REPOSITORY_NAME"},
			ok: true,
		},
		{
			name: "azure pipelines pull request, Azure Repos",
			env: map[string]string{
				"TF_BUILD": "True", "BUILD_SOURCEVERSION": "4444444444444444", "BUILD_SOURCEBRANCH": "refs/pull/7/merge",
				"SYSTEM_PULLREQUEST_PULLREQUESTID": "7", "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/topic",
				"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://tfs.example/DefaultCollection/", "SYSTEM_TEAMPROJECT": "p",
				"BUILD_BUILDID": "8", "BUILD_REPOSITORY_NAME": "pony",
			},
			want: CIVars{Name: "azure-pipelines", Commit: "4444444444444444", Branch: "topic", PullRequest: "7",
				BuildURL: "https://tfs.example/DefaultCollection/p/_build/results?buildId=8", Package: "pony", PackageFrom: "BUILD_REPOSITORY_NAME"},
			ok: true,
		},
		{
			name: "github-hosted runner: one host for every job",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_NAME": "GitHub Actions 1000001234"},
			want: CIVars{Name: "github-actions", Host: "github-hosted"},
			ok:   true,
		},
		{
			name: "github-hosted runner before RUNNER_ENVIRONMENT",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_NAME": "GitHub Actions 12"},
			want: CIVars{Name: "github-actions", Host: "github-hosted"},
			ok:   true,
		},
		{
			name: "self-hosted runner: its registered name",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "self-hosted", "RUNNER_NAME": "arm-box-2"},
			want: CIVars{Name: "github-actions", Host: "arm-box-2"},
			ok:   true,
		},
		{
			name: "gitlab.com shared runners",
			env:  map[string]string{"GITLAB_CI": "true", "CI_RUNNER_DESCRIPTION": "3-green.saas-linux-small-amd64.runners-manager.gitlab.com/default"},
			want: CIVars{Name: "gitlab-ci", Host: "gitlab-hosted"},
			ok:   true,
		},
		{
			name: "a gitlab runner of one's own",
			env:  map[string]string{"GITLAB_CI": "true", "CI_RUNNER_DESCRIPTION": "docker-runner-arm64"},
			want: CIVars{Name: "gitlab-ci", Host: "docker-runner-arm64"},
			ok:   true,
		},
		{
			name: "jenkins agent",
			env:  map[string]string{"JENKINS_URL": "https://ci.example/", "NODE_NAME": "linux-agent-3"},
			want: CIVars{Name: "jenkins", Host: "linux-agent-3"},
			ok:   true,
		},
		{
			name: "buildkite elastic stack: the queue",
			env:  map[string]string{"BUILDKITE": "true", "BUILDKITE_AGENT_NAME": "i-0abc123-1", "BUILDKITE_AGENT_META_DATA_QUEUE": "default"},
			want: CIVars{Name: "buildkite", Host: "buildkite/default"},
			ok:   true,
		},
		{
			name: "azure microsoft-hosted agent",
			env:  map[string]string{"TF_BUILD": "True", "AGENT_NAME": "Azure Pipelines 7"},
			want: CIVars{Name: "azure-pipelines", Host: "azure-hosted"},
			ok:   true,
		},
		{
			name: "azure pipelines GitHub pull request: the number, not the id",
			env: map[string]string{
				"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/pull/524/merge", "SYSTEM_PULLREQUEST_PULLREQUESTID": "512",
				"SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "524", "SYSTEM_PULLREQUEST_SOURCEBRANCH": "fix",
			},
			want: CIVars{Name: "azure-pipelines", Branch: "fix", PullRequest: "524"},
			ok:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DetectCI(mapEnv(tc.env))
			if ok != tc.ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fakeCommands answers the commands the collector runs, counting the calls.
type fakeCommands struct {
	answers map[string]string // "git rev-parse HEAD" → output; absent: not found
	calls   map[string]int
}

func (f *fakeCommands) run(_ context.Context, _, name string, args ...string) (string, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[line]++
	if out, ok := f.answers[line]; ok {
		return out, nil
	}
	return "", exec.ErrNotFound
}

func TestCollect(t *testing.T) {
	modDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(modDir, "go.mod"), []byte("// comment\nmodule github.com/acme/widget/v3 // trailing\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plainDir := filepath.Join(t.TempDir(), "checkout")
	if err := os.Mkdir(plainDir, 0o755); err != nil {
		t.Fatal(err)
	}
	git := map[string]string{
		"git rev-parse HEAD":              "0123456789abcdef0123456789abcdef01234567",
		"git rev-parse --abbrev-ref HEAD": "main",
		"git rev-parse --show-toplevel":   "/src/gadget",
	}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		dir      string
		answers  map[string]string
		wantGo   bool
		noGo     bool   // go is not installed
		want     string // client_info JSON, host/arch left out
		wantFrom string
	}{
		{
			name: "github wins over go.mod and git", dir: modDir, answers: git, wantGo: true,
			env:      map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "feedfacefeedface", "GITHUB_REF": "refs/heads/dev", "GITHUB_REPOSITORY": "o/gin"},
			want:     `{"package":"gin","runtime":"go1.22.4","commit":"feedfacefeedface","branch":"dev","ci":"github-actions"}`,
			wantFrom: "GITHUB_REPOSITORY",
		},
		{
			name: "travis pull request with a job name", dir: modDir, answers: git,
			env: map[string]string{"TRAVIS": "true", "TRAVIS_PULL_REQUEST": "4", "TRAVIS_PULL_REQUEST_BRANCH": "topic",
				"TRAVIS_PULL_REQUEST_SHA": "abcabcabcabc", "TRAVIS_REPO_SLUG": "o/pony", "TRAVIS_JOB_NAME": "lint"},
			want:     `{"package":"pony","host":"travis-ci","commit":"abcabcabcabc","branch":"topic","ci":"travis-ci","job":"lint","pull_request":"4"}`,
			wantFrom: "TRAVIS_REPO_SLUG",
		},
		{
			name: "azure pipelines, commit from git", dir: plainDir, answers: git,
			env:      map[string]string{"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/heads/main", "SYSTEM_JOBDISPLAYNAME": "Job"},
			want:     `{"package":"gadget","commit":"0123456789abcdef0123456789abcdef01234567","branch":"main","ci":"azure-pipelines","job":"Job"}`,
			wantFrom: "git",
		},
		{
			name: "go.mod in cwd, git for commit and branch", dir: modDir, answers: git,
			want:     `{"package":"widget","commit":"0123456789abcdef0123456789abcdef01234567","branch":"main"}`,
			wantFrom: "go.mod",
		},
		{
			name: "git toplevel", dir: plainDir,
			answers: map[string]string{"git rev-parse --show-toplevel": "/src/gadget", "git rev-parse --abbrev-ref HEAD": "HEAD"},
			want:    `{"package":"gadget"}`, wantFrom: "git",
		},
		{
			name: "no git, no go: directory name", dir: plainDir, wantGo: true, noGo: true,
			want: `{"package":"checkout"}`, wantFrom: "directory",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := map[string]string{"go env GOVERSION": "go1.22.4"}
			if tc.noGo {
				answers = map[string]string{}
			}
			for k, v := range tc.answers {
				answers[k] = v
			}
			fc := &fakeCommands{answers: answers}
			c := NewCollector(Env{Getenv: mapEnv(tc.env), Dir: tc.dir, Command: fc.run,
				Hostname: func() (string, error) { return "", errors.New("no name") }})
			got := c.Collect(context.Background(), tc.wantGo)
			got.Info.Arch = ""
			b, err := json.Marshal(got.Info)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want || got.PackageFrom != tc.wantFrom {
				t.Errorf("got %s from %q, want %s from %q", b, got.PackageFrom, tc.want, tc.wantFrom)
			}
		})
	}
}

func TestGoVersionRunsGoOnce(t *testing.T) {
	fc := &fakeCommands{answers: map[string]string{"go env GOVERSION": "go1.26.8"}}
	c := NewCollector(Env{Command: fc.run})
	for range 3 {
		if got := c.GoVersion(context.Background()); got != "go1.26.8" {
			t.Fatalf("got %q, want go1.26.8", got)
		}
	}
	if n := fc.calls["go env GOVERSION"]; n != 1 {
		t.Errorf("got %d runs of go env, want 1", n)
	}
}

func TestCollectHostAndArch(t *testing.T) {
	c := NewCollector(Env{Hostname: func() (string, error) { return "ci-linux-3", nil }})
	got := c.Collect(context.Background(), false).Info
	if got.Host != "ci-linux-3" || !strings.Contains(got.Arch, "-") {
		t.Errorf("got host %q arch %q, want ci-linux-3 and GOOS-GOARCH", got.Host, got.Arch)
	}
}

func TestModuleName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/pony-build/pony", "pony"},
		{"github.com/acme/widget/v3", "widget"},
		{"example.com/v2", "example.com"},
		{"tool", "tool"},
		{"gopkg.in/yaml.v3", "yaml.v3"},
	} {
		if got := moduleName(tc.in); got != tc.want {
			t.Errorf("moduleName(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCollectStableHost: on a hosted CI runner, a fresh machine every job,
// the environment's host is the provider's stable name, and the machine's
// own name is kept as "hostname"; --host (set after Collect) still wins.
func TestCollectStableHost(t *testing.T) {
	env := map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_NAME": "GitHub Actions 1000001234"}
	c := NewCollector(Env{Getenv: mapEnv(env), Dir: t.TempDir(),
		Command:  func(context.Context, string, string, ...string) (string, error) { return "", exec.ErrNotFound },
		Hostname: func() (string, error) { return "fv-az512-311", nil }})
	got := c.Collect(context.Background(), false).Info
	if got.Host != "github-hosted" || string(got.Extra["hostname"]) != `"fv-az512-311"` {
		t.Errorf("got host %q and hostname %s, want github-hosted and the machine's fv-az512-311", got.Host, got.Extra["hostname"])
	}
	delete(env, "GITHUB_ACTIONS")
	got = c.Collect(context.Background(), false).Info
	if got.Host != "fv-az512-311" || got.Extra["hostname"] != nil {
		t.Errorf("outside CI: got host %q, hostname %s, want the machine's name alone", got.Host, got.Extra["hostname"])
	}
}
