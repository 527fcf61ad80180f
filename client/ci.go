package client

import (
	"encoding/json"
	"path"
	"strings"
)

// CIVars is what a CI provider's environment variables say about a build.
type CIVars struct {
	// Name is the provider: github-actions, gitlab-ci, jenkins, buildkite,
	// circleci. It becomes client_info's "ci" key.
	Name     string
	Commit   string
	Branch   string
	BuildURL string
	// PullRequest is the pull or merge request's number (or URL, for
	// CircleCI) when the build is for one. It becomes "pull_request".
	PullRequest string
	// Package is the repository's name when the provider gives it, and
	// PackageFrom the variable it came from.
	Package, PackageFrom string
}

func (v CIVars) extra() map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	put := func(k, s string) {
		if s != "" {
			b, _ := json.Marshal(s)
			m[k] = b
		}
	}
	put("ci", v.Name)
	put("pull_request", v.PullRequest)
	return m
}

// DetectCI recognises the CI provider from its environment variables and
// reads the build's commit, branch, build URL and pull request. A pull
// request build names its head branch, not the merge ref. ok is false when
// no known provider is found.
func DetectCI(getenv func(string) string) (v CIVars, ok bool) {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		v = CIVars{Name: "github-actions", Commit: getenv("GITHUB_SHA")}
		// GITHUB_HEAD_REF is set on pull_request events only: the PR's branch.
		v.Branch = getenv("GITHUB_HEAD_REF")
		if v.Branch == "" {
			v.Branch = branchFromRef(getenv("GITHUB_REF"))
		}
		if n, ok := strings.CutPrefix(getenv("GITHUB_REF"), "refs/pull/"); ok {
			v.PullRequest, _, _ = strings.Cut(n, "/")
		}
		repo := getenv("GITHUB_REPOSITORY")
		if server, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_RUN_ID"); repo != "" && id != "" {
			if server == "" {
				server = "https://github.com"
			}
			v.BuildURL = strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
			if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" && a != "1" {
				v.BuildURL += "/attempts/" + a
			}
		}
		if repo != "" {
			v.Package, v.PackageFrom = path.Base(repo), "GITHUB_REPOSITORY"
		}
	case getenv("GITLAB_CI") != "":
		v = CIVars{Name: "gitlab-ci", Commit: getenv("CI_COMMIT_SHA"), BuildURL: getenv("CI_JOB_URL")}
		v.Branch = firstOf(getenv, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH")
		if v.Branch == "" && getenv("CI_COMMIT_TAG") == "" {
			v.Branch = getenv("CI_COMMIT_REF_NAME")
		}
		if v.BuildURL == "" {
			v.BuildURL = getenv("CI_PIPELINE_URL")
		}
		v.PullRequest = getenv("CI_MERGE_REQUEST_IID")
		if p := getenv("CI_PROJECT_PATH"); p != "" {
			v.Package, v.PackageFrom = path.Base(p), "CI_PROJECT_PATH"
		}
	case getenv("JENKINS_URL") != "" || getenv("JENKINS_HOME") != "":
		v = CIVars{Name: "jenkins", Commit: getenv("GIT_COMMIT"), BuildURL: getenv("BUILD_URL")}
		// Multibranch pipelines set CHANGE_BRANCH on change requests and
		// BRANCH_NAME always; the git plugin sets GIT_BRANCH ("origin/main").
		v.Branch = firstOf(getenv, "CHANGE_BRANCH", "BRANCH_NAME")
		if v.Branch == "" {
			v.Branch = branchFromRef(strings.TrimPrefix(getenv("GIT_BRANCH"), "origin/"))
		}
		v.PullRequest = getenv("CHANGE_ID")
	case getenv("BUILDKITE") == "true":
		v = CIVars{Name: "buildkite", Commit: getenv("BUILDKITE_COMMIT"), Branch: getenv("BUILDKITE_BRANCH"),
			BuildURL: getenv("BUILDKITE_BUILD_URL")}
		// Buildkite's commit may be "HEAD" until the checkout resolves it.
		if !isHex(v.Commit) {
			v.Commit = ""
		}
		if pr := getenv("BUILDKITE_PULL_REQUEST"); pr != "false" {
			v.PullRequest = pr
		}
	case getenv("CIRCLECI") == "true":
		v = CIVars{Name: "circleci", Commit: getenv("CIRCLE_SHA1"), Branch: getenv("CIRCLE_BRANCH"),
			BuildURL: getenv("CIRCLE_BUILD_URL")}
		v.PullRequest = firstOf(getenv, "CIRCLE_PR_NUMBER", "CIRCLE_PULL_REQUEST")
	default:
		return CIVars{}, false
	}
	return v, true
}

// branchFromRef turns refs/heads/main into main. Other refs (tags, pull
// request merge refs) are not branches: "" for them.
func branchFromRef(ref string) string {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	if strings.HasPrefix(ref, "refs/") {
		return ""
	}
	return ref
}

func firstOf(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
