// gophercloud-login: logs in from the environment the way the Terraform/OpenTofu provider
// (terraform-provider-openstack) or Packer's openstack builder does, then makes one authenticated
// call, for the e2e suite (scripts/gophercloud/build.sh builds it against Debian 13's gophercloud
// 1.4.0 and gophercloud-utils). Both tools build their login on gophercloud-utils' clientconfig:
//
//   - terraform: the provider's env defaults (OS_TOKEN before OS_AUTH_TOKEN, OS_TENANT_* before
//     OS_PROJECT_*, …) handed to clientconfig.AuthOptions, then AllowReauth = allow_reauth
//     (OS_ALLOW_REAUTH, default true), openstack.NewClient and openstack.Authenticate
//     (terraform-provider-openstack/utils auth.Config.LoadAndValidate);
//   - packer: clientconfig.AuthOptions from the environment alone, AllowReauth always true
//     (packer-plugin-openstack AccessConfig.Prepare).
//
// Then GET /v3/projects/{the token's project} through the catalog's identity endpoint. Prints
// (never a token) each request it sent with the answer's status, how it logged in, and the
// project's name.
//
// Usage: gophercloud-login -tool terraform|packer
// Exit status: 0 when the call worked, 1 with the error on stderr otherwise.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/tokens"
	"github.com/gophercloud/utils/openstack/clientconfig"
)

// firstSet is the provider's MultiEnvDefaultFunc: the first variable that is set and not empty.
func firstSet(names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// terraformOptions: the provider block left empty, every field from its env default.
func terraformOptions() (*gophercloud.AuthOptions, error) {
	info := &clientconfig.AuthInfo{
		AuthURL:                     os.Getenv("OS_AUTH_URL"),
		DefaultDomain:               firstSet("OS_DEFAULT_DOMAIN"),
		DomainID:                    os.Getenv("OS_DOMAIN_ID"),
		DomainName:                  os.Getenv("OS_DOMAIN_NAME"),
		Password:                    os.Getenv("OS_PASSWORD"),
		ProjectDomainID:             os.Getenv("OS_PROJECT_DOMAIN_ID"),
		ProjectDomainName:           os.Getenv("OS_PROJECT_DOMAIN_NAME"),
		ProjectID:                   firstSet("OS_TENANT_ID", "OS_PROJECT_ID"),
		ProjectName:                 firstSet("OS_TENANT_NAME", "OS_PROJECT_NAME"),
		Token:                       firstSet("OS_TOKEN", "OS_AUTH_TOKEN"),
		UserDomainID:                os.Getenv("OS_USER_DOMAIN_ID"),
		UserDomainName:              os.Getenv("OS_USER_DOMAIN_NAME"),
		Username:                    os.Getenv("OS_USERNAME"),
		UserID:                      os.Getenv("OS_USER_ID"),
		ApplicationCredentialID:     os.Getenv("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   os.Getenv("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: os.Getenv("OS_APPLICATION_CREDENTIAL_SECRET"),
	}
	if v := os.Getenv("OS_SYSTEM_SCOPE"); v != "" {
		system, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("OS_SYSTEM_SCOPE=%q: the provider's system_scope is a bool", v)
		}
		if system {
			info.SystemScope = "true"
		}
	}
	ao, err := clientconfig.AuthOptions(&clientconfig.ClientOpts{AuthInfo: info})
	if err != nil {
		return nil, err
	}
	ao.AllowReauth = true
	if v := os.Getenv("OS_ALLOW_REAUTH"); v != "" {
		if ao.AllowReauth, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("OS_ALLOW_REAUTH=%q: not a bool", v)
		}
	}
	return ao, nil
}

func packerOptions() (*gophercloud.AuthOptions, error) {
	ao, err := clientconfig.AuthOptions(nil)
	if err != nil {
		return nil, err
	}
	ao.AllowReauth = true
	return ao, nil
}

// logged prints each request's method, path and status as it completes.
type logged struct{ next http.RoundTripper }

func (l logged) RoundTrip(request *http.Request) (*http.Response, error) {
	response, err := l.next.RoundTrip(request)
	status := "no answer"
	if err == nil {
		status = strconv.Itoa(response.StatusCode)
	}
	fmt.Println("request:", request.Method, request.URL.Path, status)
	return response, err
}

// tlsConfig: OS_CACERT as a path or as PEM text (the provider's cacert_file takes both).
func tlsConfig() (*tls.Config, error) {
	config := &tls.Config{}
	if v := os.Getenv("OS_CACERT"); v != "" {
		pem := []byte(v)
		if !strings.Contains(v, "-----BEGIN") {
			var err error
			if pem, err = os.ReadFile(v); err != nil {
				return nil, err
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("OS_CACERT holds no PEM certificate")
		}
		config.RootCAs = pool
	}
	return config, nil
}

func run(tool string) error {
	var ao *gophercloud.AuthOptions
	var err error
	switch tool {
	case "terraform":
		ao, err = terraformOptions()
	case "packer":
		ao, err = packerOptions()
	default:
		return fmt.Errorf("-tool must be terraform or packer, not %q", tool)
	}
	if err != nil {
		return err
	}
	client, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return err
	}
	config, err := tlsConfig()
	if err != nil {
		return err
	}
	client.HTTPClient = http.Client{Transport: logged{&http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: config}}}
	if err := openstack.Authenticate(client, *ao); err != nil {
		return fmt.Errorf("login: %w", err)
	}

	var project *tokens.Project
	how := ""
	switch result := client.GetAuthResult().(type) {
	case tokens.CreateResult:
		how = "exchanged (POST /v3/auth/tokens, a new token)"
		project, err = result.ExtractProject()
	case tokens.GetResult:
		how = "passed through (GET /v3/auth/tokens, the token as it is)"
		project, err = result.ExtractProject()
	default:
		return fmt.Errorf("unexpected login result %T", result)
	}
	if err != nil {
		return err
	}
	if ao.TokenID == "" {
		how = "logged in without a token"
	} else if client.Token() == ao.TokenID {
		how += ", the job's token"
	}
	fmt.Println("login:", how)
	if project == nil {
		return errors.New("the token has no project scope")
	}

	identity, err := openstack.NewIdentityV3(client, gophercloud.EndpointOpts{
		Region:       os.Getenv("OS_REGION_NAME"),
		Availability: clientconfig.GetEndpointType(os.Getenv("OS_ENDPOINT_TYPE")),
	})
	if err != nil {
		return fmt.Errorf("identity endpoint: %w", err)
	}
	got, err := projects.Get(identity, project.ID).Extract()
	if err != nil {
		return fmt.Errorf("GET /v3/projects/%s: %w", project.ID, err)
	}
	fmt.Println("project:", got.Name)
	return nil
}

func main() {
	tool := flag.String("tool", "terraform", "whose login to reproduce: terraform or packer")
	flag.Parse()
	if err := run(*tool); err != nil {
		fmt.Fprintln(os.Stderr, "gophercloud-login:", err)
		os.Exit(1)
	}
}
