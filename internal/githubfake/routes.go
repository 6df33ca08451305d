package githubfake

// operation is how the fake serves one vendored GitHub operation.
type operation struct {
	auth   authKind
	handle func(*call) reply
}

// operations maps each vendored operationId to its handler. Handlers run with f.mu
// held and c.repo set for authRepo operations.
func operations() map[string]operation {
	return map[string]operation{
		"apps/get-authenticated":                          {authApp, getAuthenticatedApp},
		"apps/create-installation-access-token":           {authApp, createInstallationToken},
		"apps/get-repo-installation":                      {authApp, getRepoInstallation},
		"apps/list-webhook-deliveries":                    {authApp, listDeliveries},
		"apps/redeliver-webhook-delivery":                 {authApp, redeliver},
		"repos/get":                                       {authRepo, getRepo},
		"repos/get-content":                               {authRepo, getContent},
		"repos/get-commit":                                {authRepo, getCommit},
		"repos/compare-commits":                           {authRepo, compareCommits},
		"repos/list-pull-requests-associated-with-commit": {authRepo, listPullsForCommit},
		"repos/create-commit-status":                      {authRepo, createStatus},
		"repos/list-commit-statuses-for-ref":              {authRepo, listStatuses},
		"repos/get-collaborator-permission-level":         {authRepo, getCollaboratorPermission},
		"repos/create-deployment":                         {authRepo, createDeployment},
		"repos/create-deployment-status":                  {authRepo, createDeploymentStatus},
		"repos/list-deployments":                          {authRepo, listDeployments},
		"checks/create":                                   {authRepo, createCheckRun},
		"checks/update":                                   {authRepo, updateCheckRun},
		"checks/get":                                      {authRepo, getCheckRun},
		"checks/list-for-ref":                             {authRepo, listCheckRunsForRef},
		"checks/list-for-suite":                           {authRepo, listCheckRunsForSuite},
		"issues/create-comment":                           {authRepo, createComment},
		"issues/update-comment":                           {authRepo, updateComment},
		"issues/list-comments":                            {authRepo, listComments},
		"issues/get-comment":                              {authRepo, getComment},
		"reactions/create-for-issue-comment":              {authRepo, createReaction},
		"pulls/get":                                       {authRepo, getPull},
		"pulls/list-reviews":                              {authRepo, listReviews},
		"pulls/create":                                    {authRepo, createPull},
		"pulls/merge":                                     {authRepo, mergePull},
		"pulls/list":                                      {authRepo, listPulls},
		"teams/get-membership-for-user-in-org":            {authOrg, getTeamMembership},
		"git/get-ref":                                     {authRepo, getRef},
		"git/get-tag":                                     {authRepo, getTag},
		// The dashboard's (oauth.go).
		"users/get-authenticated":                             {authUser, getAuthenticatedUser},
		"apps/list-installations-for-authenticated-user":      {authUser, listUserInstallations},
		"apps/list-installation-repos-for-authenticated-user": {authUser, listUserInstallationRepos},
		"repos/list-commits":                                  {authRepo, listCommits},
		"apps/create-from-manifest":                           {authNone, createFromManifest},
	}
}
