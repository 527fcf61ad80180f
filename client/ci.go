package client

import (
	"encoding/json"
	"net/url"
	"path"
	"strings"
)

// CIVars is what a CI provider's environment variables say about a build.
type CIVars struct {
	// Name is the provider: github-actions, gitlab-ci, jenkins, buildkite,
	// circleci, travis-ci, azure-pipelines. It becomes client_info's "ci"
	// key.
	Name     string
	Commit   string
	Branch   string
	BuildURL string
	// PullRequest is the pull or merge request's number (or URL, for
	// CircleCI) when the build is for one. It becomes "pull_request".
	PullRequest string
	// Job is the job's name within the build (GitHub Actions: "workflow /
	// job"). It becomes "job".
	Job string
	// Package is the repository's name when the provider gives it, and
	// PackageFrom the variable it came from.
	Package, PackageFrom string
	// Host is a name for the machine that stays the same from build to
	// build where the machine's own host name does not: a provider's
	// hosted runners are fresh machines every job (github-hosted,
	// gitlab-hosted, circleci, travis-ci, azure-hosted), and a
	// self-hosted runner or agent is better known by its registered name
	// than by a container's random host name. Empty: the host name.
	Host string
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
	put("job", v.Job)
	return m
}

// DetectCI recognises the CI provider from its environment variables and
// reads the build's commit, branch, build URL and pull request. A pull
// request build names its head branch, not the merge ref. ok is false when
// no known provider is found. The variables are each provider's documented
// defaults: GitHub Actions, GitLab CI, Jenkins (with the git plugin or a
// multibranch pipeline), Buildkite, CircleCI, Travis CI and Azure Pipelines.
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
		// GITHUB_JOB is the job's id in the workflow file; the workflow's
		// name tells apart two workflows with a job named alike.
		v.Job = joinNonEmpty(" / ", getenv("GITHUB_WORKFLOW"), getenv("GITHUB_JOB"))
		switch name := getenv("RUNNER_NAME"); {
		case getenv("RUNNER_ENVIRONMENT") == "github-hosted", getenv("RUNNER_ENVIRONMENT") == "" && strings.HasPrefix(name, "GitHub Actions "):
			v.Host = "github-hosted"
		default:
			v.Host = name // a self-hosted runner's registered name
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
		v.Job = getenv("CI_JOB_NAME")
		if p := getenv("CI_PROJECT_PATH"); p != "" {
			v.Package, v.PackageFrom = path.Base(p), "CI_PROJECT_PATH"
		}
		// GitLab.com's shared runners are many managers of fresh machines;
		// a runner of one's own is known by its description.
		if d := getenv("CI_RUNNER_DESCRIPTION"); strings.Contains(d, "runners-manager.gitlab.com") {
			v.Host = "gitlab-hosted"
		} else {
			v.Host = d
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
		v.Job = getenv("JOB_NAME")   // "folder/pipeline/branch"
		v.Host = getenv("NODE_NAME") // the agent: "built-in", "linux-1"
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
		v.Job = getenv("BUILDKITE_LABEL")
		// An elastic stack's agents come and go; their queue stays.
		if q := getenv("BUILDKITE_AGENT_META_DATA_QUEUE"); q != "" {
			v.Host = "buildkite/" + q
		} else {
			v.Host = getenv("BUILDKITE_AGENT_NAME")
		}
	case getenv("CIRCLECI") == "true":
		v = CIVars{Name: "circleci", Commit: getenv("CIRCLE_SHA1"), Branch: getenv("CIRCLE_BRANCH"),
			BuildURL: getenv("CIRCLE_BUILD_URL")}
		v.PullRequest = firstOf(getenv, "CIRCLE_PR_NUMBER", "CIRCLE_PULL_REQUEST")
		v.Job = getenv("CIRCLE_JOB")
		v.Host = "circleci"
		if r := getenv("CIRCLE_PROJECT_REPONAME"); r != "" {
			v.Package, v.PackageFrom = r, "CIRCLE_PROJECT_REPONAME"
		}
	case getenv("TRAVIS") == "true":
		v = CIVars{Name: "travis-ci", BuildURL: getenv("TRAVIS_BUILD_WEB_URL"), Job: getenv("TRAVIS_JOB_NAME"), Host: "travis-ci"}
		if pr := getenv("TRAVIS_PULL_REQUEST"); pr != "false" && pr != "" {
			// A pull request build: TRAVIS_BRANCH is the target and
			// TRAVIS_COMMIT the merge; name the head, as for the others.
			v.PullRequest = pr
			v.Branch = getenv("TRAVIS_PULL_REQUEST_BRANCH")
			v.Commit = firstOf(getenv, "TRAVIS_PULL_REQUEST_SHA", "TRAVIS_COMMIT")
		} else {
			v.Commit = getenv("TRAVIS_COMMIT")
			// On a tag build TRAVIS_BRANCH is the tag: no branch.
			if getenv("TRAVIS_TAG") == "" {
				v.Branch = getenv("TRAVIS_BRANCH")
			}
		}
		if v.BuildURL == "" {
			v.BuildURL = getenv("TRAVIS_JOB_WEB_URL")
		}
		if r := getenv("TRAVIS_REPO_SLUG"); r != "" {
			v.Package, v.PackageFrom = path.Base(r), "TRAVIS_REPO_SLUG"
		}
	case strings.EqualFold(getenv("TF_BUILD"), "true"):
		v = CIVars{Name: "azure-pipelines", Commit: getenv("BUILD_SOURCEVERSION"), Job: getenv("SYSTEM_JOBDISPLAYNAME")}
		// Microsoft-hosted agents are "Azure Pipelines N" or "Hosted Agent",
		// a fresh machine each job.
		if a := getenv("AGENT_NAME"); strings.HasPrefix(a, "Azure Pipelines") || strings.HasPrefix(a, "Hosted Agent") {
			v.Host = "azure-hosted"
		} else {
			v.Host = a
		}
		if pr := firstOf(getenv, "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID"); pr != "" {
			// The source branch comes as refs/heads/x or as x, by provider.
			v.PullRequest = pr
			v.Branch = branchFromRef(getenv("SYSTEM_PULLREQUEST_SOURCEBRANCH"))
		} else {
			// refs/heads/feature/x; BUILD_SOURCEBRANCHNAME would be "x".
			v.Branch = branchFromRef(getenv("BUILD_SOURCEBRANCH"))
		}
		coll, project, id := getenv("SYSTEM_COLLECTIONURI"), getenv("SYSTEM_TEAMPROJECT"), getenv("BUILD_BUILDID")
		if coll == "" {
			coll = getenv("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
		}
		if coll != "" && project != "" && id != "" {
			v.BuildURL = strings.TrimSuffix(coll, "/") + "/" + url.PathEscape(project) + "/_build/results?buildId=" + url.QueryEscape(id)
		}
		if r := getenv("BUILD_REPOSITORY_NAME"); r != "" {
			v.Package, v.PackageFrom = path.Base(r), "BUILD_REPOSITORY_NAME"
		}
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

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func firstOf(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
