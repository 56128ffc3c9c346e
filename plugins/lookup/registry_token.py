# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: registry_token
short_description: Mint a short-lived container registry credential on the controller, once per run
version_added: 1.0.0
author:
  - cloud_registry.auth contributors (@cloud-registry)
extends_documentation_fragment:
  - cloud_registry.auth.gcp_auth
description:
  - Returns a dictionary with RV(_raw[].registry), RV(_raw[].username), RV(_raw[].password) and RV(_raw[].expires_at), a
    short-lived credential for a container registry, minted by the cloud provider named with O(provider).
  - Supported providers are Google Cloud (V(gcp), Artifact Registry and Container Registry access tokens), AWS ECR
    (V(ecr)), Azure Container Registry (V(azure), alias V(acr)), Alibaba Cloud Container Registry (V(alibaba)) and
    the token service of any Docker Registry v2 API (V(oauth2), for Docker Hub, Harbor, GitLab, Quay, distribution).
  - B(Minted once.) The lookup is evaluated on the controller, in every forked worker, for every host. The first
    evaluation for an identity (provider, principal, registry, scopes) mints; every other evaluation in the same
    playbook run reads the result from a private run cache (a 0700 directory named after the ansible-playbook
    process, one 0600 file per identity, serialised with C(flock)). A cached credential is reused until O(min_ttl)
    seconds before it expires; an expired or nearly expired credential is never returned. A failed mint is not
    retried by the other hosts of the run (they fail with the same message), so a wrong secret reaches the provider
    once.
  - The run cache lives in C($XDG_RUNTIME_DIR) or C(/dev/shm) (memory-backed) when they exist, else in the temporary
    directory, under C(cloud_registry_auth-<uid>/run-<pid>-<start>). A small detached process started with it
    deletes it as soon as the ansible-playbook process has exited; should that process be killed, the first
    registry_token lookup of a later run deletes it. With O(cache_dir), credentials also survive the run
    in that directory until they come within O(min_ttl) of expiry. File names are SHA-256 hashes of the identity;
    they never contain a secret.
  - B(Secrets.) A lookup result is not hidden by Ansible by itself. Use it only in tasks with C(no_log=true) or pass
    it to module options that are marked C(no_log) (for example the C(password) of
    M(cloud_registry.auth.registry_login)). This plugin never logs, displays or puts the secret in an error message,
    also with C(-vvvv).
  - Options can be given as lookup keywords, and most also as variables or environment variables (listed with each
    option). Provider-specific environment variables that the provider's own tools read (C(AWS_REGION),
    C(AZURE_TENANT_ID), C(ALIBABA_CLOUD_ACCESS_KEY_ID), ...) are honoured too, as described with each option.
options:
  _terms:
    description:
      - Optionally the provider name, instead of O(provider). At most one term.
    type: list
    elements: str
    required: false
  provider:
    description:
      - Which service mints the credential.
      - V(gcp) is Google Cloud, V(ecr) AWS ECR, V(azure) (or V(acr)) Azure Container Registry, V(alibaba) Alibaba
        Cloud Container Registry, V(oauth2) the Bearer token service of any registry.
    type: str
    choices: [gcp, ecr, azure, acr, alibaba, oauth2]
    env:
      - name: CLOUD_REGISTRY_TOKEN_PROVIDER
    vars:
      - name: cloud_registry_token_provider
    version_added: 1.0.0
  min_ttl:
    description:
      - Seconds of validity a returned credential must still have. A cached credential closer than this to its
        expiry is minted again; a freshly minted one that is not valid for longer than this is an error (lower
        O(min_ttl) below the provider's token lifetime, e.g. V(30) for Docker Hub's 300 second tokens).
    type: int
    default: 300
    env:
      - name: CLOUD_REGISTRY_TOKEN_MIN_TTL
    vars:
      - name: cloud_registry_token_min_ttl
    version_added: 1.0.0
  cache_dir:
    description:
      - Directory in which minted credentials are also kept across playbook runs, so consecutive runs reuse a token
        until it comes within O(min_ttl) of expiry. Created with mode 0700; it must be owned by the controller user
        and not accessible to others. Files are 0600, named by a SHA-256 hash of the identity.
      - Credentials without a known expiry (O(token_type=refresh_token)) are never written here.
      - Not set (the default) means nothing outlives the run.
    type: path
    env:
      - name: CLOUD_REGISTRY_TOKEN_CACHE_DIR
    vars:
      - name: cloud_registry_token_cache_dir
    version_added: 1.0.0
  run_cache_dir:
    description:
      - Parent directory of the run cache. The default is C($TMPDIR) when set, else C($XDG_RUNTIME_DIR), else
        C(/dev/shm), else the temporary directory.
    type: path
    env:
      - name: CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR
    vars:
      - name: cloud_registry_token_run_cache_dir
    version_added: 1.0.0
  registry:
    description:
      - The registry host the credential is for.
      - Required for V(azure) (the login server, e.g. V(myregistry.azurecr.io)) and V(oauth2) (host or URL; V(docker.io)
        means Docker Hub).
      - For V(alibaba) it selects the edition; V(registry.<region>.aliyuncs.com) is a Personal Edition registry,
        V(<instance>-registry.<region>.cr.aliyuncs.com) an Enterprise Edition instance.
      - V(ecr) returns the registry of the account (C(proxyEndpoint)), except for V(public.ecr.aws), which selects
        ECR Public (C(ecr-public:GetAuthorizationToken), always in C(us-east-1)).
    type: str
    version_added: 1.0.0
  region:
    description:
      - Cloud region. V(ecr) falls back to C(AWS_REGION) / C(AWS_DEFAULT_REGION); V(alibaba) to
        C(ALIBABA_CLOUD_REGION_ID) or the region in O(registry).
    type: str
    version_added: 1.0.0
  profile:
    description:
      - Named profile of the provider's credentials file. V(ecr) reads C(~/.aws/credentials) and C(~/.aws/config)
        (falls back to C(AWS_PROFILE)); V(alibaba) reads O(credentials_file) (falls back to C(ALIBABA_CLOUD_PROFILE),
        then V(default)).
    type: str
    version_added: 1.0.0
  endpoint_url:
    description:
      - Override of the provider's API endpoint (private endpoints, sovereign clouds, local test services).
      - V(ecr) the ECR API; V(azure) the registry base URL used for C(/oauth2/exchange) (default
        C(https://<registry>)); V(alibaba) the Container Registry API (default C(https://cr.<region>.aliyuncs.com)).
    type: str
    version_added: 1.0.0
  ca_path:
    description:
      - PEM file of CA certificates to trust for HTTPS to the provider (in addition to the system store for V(azure),
        V(alibaba) and V(oauth2); instead of it for V(ecr)).
    type: path
    env:
      - name: CLOUD_REGISTRY_TOKEN_CA_PATH
    version_added: 1.0.0
  allow_http:
    description:
      - Allow plain C(http://) endpoints. Accepted only for loopback addresses (C(127.0.0.0/8), C(::1),
        C(localhost)), for local test services; every other endpoint must be HTTPS.
    type: bool
    default: false
    version_added: 1.0.0
  timeout:
    description: Seconds to wait for each HTTP request to the provider.
    type: int
    default: 30
    version_added: 1.0.0
  aws_access_key_id:
    description:
      - AWS access key ID (V(ecr)). Default is boto3's credential chain (C(AWS_ACCESS_KEY_ID), O(profile), instance
        role, ...).
    type: str
    version_added: 1.0.0
  aws_secret_access_key:
    description: AWS secret access key (V(ecr)).
    type: str
    version_added: 1.0.0
  aws_session_token:
    description: AWS session token for temporary credentials (V(ecr)).
    type: str
    version_added: 1.0.0
  role_arn:
    description:
      - IAM role to assume with STS C(AssumeRole) before calling ECR (V(ecr)).
      - For V(alibaba), the RAM role of RRSA (keyless, with O(oidc_provider_arn) and O(oidc_token_file)); falls back
        to C(ALIBABA_CLOUD_ROLE_ARN), which ACK sets.
    type: str
    version_added: 1.0.0
  role_session_name:
    description: Session name of the assumed role (V(ecr)).
    type: str
    default: cloud_registry-auth
    version_added: 1.0.0
  external_id:
    description: External ID required by the role's trust policy (V(ecr)).
    type: str
    version_added: 1.0.0
  registry_id:
    description:
      - AWS account ID of the registry, when it is not the caller's account (V(ecr)).
    type: str
    version_added: 1.0.0
  sts_endpoint_url:
    description: Override of the STS endpoint used with O(role_arn) (V(ecr); V(alibaba) RRSA, default C(https://sts.aliyuncs.com)).
    type: str
    version_added: 1.0.0
  tenant_id:
    description: Entra ID (Azure AD) tenant (V(azure)).
    type: str
    env:
      - name: AZURE_TENANT_ID
    version_added: 1.0.0
  client_id:
    description: Application (client) ID of the service principal, for the client-credentials grant (V(azure)).
    type: str
    env:
      - name: AZURE_CLIENT_ID
    version_added: 1.0.0
  client_secret:
    description: Client secret of the service principal (V(azure)).
    type: str
    env:
      - name: AZURE_CLIENT_SECRET
    version_added: 1.0.0
  aad_access_token:
    description:
      - An Entra ID access token to exchange, instead of O(client_id) + O(client_secret) (V(azure)), for example the
        output of C(az account get-access-token --query accessToken -o tsv).
    type: str
    version_added: 1.0.0
  authority_host:
    description:
      - Entra ID authority for the client-credentials grant (V(azure)), for sovereign clouds or local test services.
    type: str
    default: https://login.microsoftonline.com
    env:
      - name: AZURE_AUTHORITY_HOST
    version_added: 1.0.0
  aad_scope:
    description: Scope requested with the client-credentials grant (V(azure)).
    type: str
    default: https://management.azure.com/.default
    version_added: 1.0.0
  federated_token_file:
    description:
      - Keyless V(azure) login with workload identity federation - a file holding a token of another identity
        provider (a projected Kubernetes service account token, as AKS injects it), sent with O(tenant_id) and
        O(client_id) as client assertion instead of a secret. Used when O(client_secret) is not given.
    type: path
    env:
      - name: AZURE_FEDERATED_TOKEN_FILE
    version_added: 1.1.0
  oidc_provider_arn:
    description:
      - Keyless V(alibaba) login with RRSA - the ARN of the OIDC provider of the cluster; falls back to
        C(ALIBABA_CLOUD_OIDC_PROVIDER_ARN), which ACK sets. With O(role_arn) and O(oidc_token_file), STS
        C(AssumeRoleWithOIDC) gives the temporary AccessKey that then asks for the registry password.
    type: str
    version_added: 1.1.0
  oidc_token_file:
    description:
      - The OIDC token (the pod's projected service account token) for RRSA (V(alibaba)); falls back to
        C(ALIBABA_CLOUD_OIDC_TOKEN_FILE), which ACK sets.
    type: path
    version_added: 1.1.0
  ram_role:
    description:
      - Keyless V(alibaba) login with the RAM role attached to this ECS instance, read from the instance metadata
        service (hardened mode, with a session token); falls back to C(ALIBABA_CLOUD_ECS_METADATA).
    type: str
    version_added: 1.1.0
  managed_identity:
    description:
      - Keyless V(azure) login with the host's managed identity (the user-assigned one when O(client_id) is given) -
        the App Service / Functions identity endpoint when C(IDENTITY_ENDPOINT) and C(IDENTITY_HEADER) are set
        (used then without this option), else the VM's instance metadata service.
    type: bool
    version_added: 1.1.0
  identity_endpoint:
    description:
      - The managed identity endpoint (V(azure)), default the instance metadata service
        C(http://169.254.169.254/metadata/identity/oauth2/token). Plain http is accepted there and on loopback only.
      - For V(alibaba) with O(ram_role), the base of the ECS metadata service (default C(http://100.100.100.200)).
    type: str
    env:
      - name: IDENTITY_ENDPOINT
    version_added: 1.1.0
  access_key_id:
    description:
      - Alibaba Cloud AccessKey ID (V(alibaba)). Falls back to C(ALIBABA_CLOUD_ACCESS_KEY_ID), then to
        O(credentials_file).
    type: str
    version_added: 1.0.0
  access_key_secret:
    description: Alibaba Cloud AccessKey secret (V(alibaba)). Falls back to C(ALIBABA_CLOUD_ACCESS_KEY_SECRET).
    type: str
    version_added: 1.0.0
  security_token:
    description: STS security token with a temporary AccessKey (V(alibaba)). Falls back to
      C(ALIBABA_CLOUD_SECURITY_TOKEN).
    type: str
    version_added: 1.0.0
  credentials_file:
    description:
      - Credentials file. V(alibaba) reads the INI file of the Alibaba Cloud tools (profiles of C(type = access_key)
        or C(type = sts)); default C(ALIBABA_CLOUD_CREDENTIALS_FILE), then C(~/.alibabacloud/credentials).
      - V(gcp) reads a Google credentials JSON file, usually a service account key (see O(auth_kind)).
    type: path
    version_added: 1.0.0
  instance_id:
    description:
      - Container Registry Enterprise Edition instance ID (V(alibaba)); found from O(registry) when not given.
    type: str
    version_added: 1.0.0
  username:
    description:
      - Account name at the registry's token service (V(oauth2)). Empty means an anonymous token.
    type: str
    version_added: 1.0.0
  password:
    description:
      - Password or personal access token of O(username) at the token service (V(oauth2)).
    type: str
    version_added: 1.0.0
  repository:
    description:
      - Repository to request access to (V(oauth2)), giving the scope C(repository:<repository>:<actions>) when
        O(scope) is not set.
    type: str
    version_added: 1.0.0
  actions:
    description: Actions for O(repository) (V(oauth2)).
    type: list
    elements: str
    default: [pull]
    version_added: 1.0.0
  scope:
    description:
      - Explicit token scopes (V(oauth2)), e.g. V(repository:library/alpine:pull). Empty and no O(repository) means a
        token without repository access (what C(docker login) requests).
    type: list
    elements: str
    version_added: 1.0.0
  service:
    description: The C(service) of the token request (V(oauth2)); default from the registry's C(WWW-Authenticate) challenge.
    type: str
    version_added: 1.0.0
  realm:
    description:
      - Token service URL (V(oauth2)); default from the registry's C(WWW-Authenticate) challenge to C(GET /v2/).
    type: str
    version_added: 1.0.0
  token_type:
    description:
      - What V(oauth2) returns as RV(_raw[].password).
      - V(access_token) is the Bearer token for O(scope); it expires (C(expires_in), 60 seconds when the service does
        not say). Tools that accept a registry token use it (C(skopeo --registry-token), a Bearer C(Authorization)
        header). Most registries do B(not) accept it as a C(docker login) password.
      - V(refresh_token) is the long-lived identity token (C(offline_token)) that C(docker login) stores as
        C(identitytoken) in C(config.json); it has no known expiry, so it is cached for the run only.
    type: str
    choices: [access_token, refresh_token]
    default: access_token
    version_added: 1.0.0
  token_username:
    description:
      - RV(_raw[].username) of an V(oauth2) credential. Default is O(username), or V(<token>) for an anonymous token.
    type: str
    version_added: 1.0.0
  oauth_client_id:
    description: C(client_id) sent to the token service (V(oauth2)).
    type: str
    default: cloud_registry.auth
    version_added: 1.0.0
  key_auth:
    description:
      - Do not mint (V(gcp)); return the service account key itself, the "JSON key file" method of Container Registry
        and Artifact Registry. V(json_key) gives username C(_json_key) and the key JSON as password,
        V(json_key_base64) gives username C(_json_key_base64) and the base64 of the key file's bytes.
      - Such a credential has no expiry (RV(_raw[].expires_at) is C(null)), is cached for the run only and is as
        powerful as the key; prefer short-lived access tokens (the default).
      - Needs O(credentials_file) or O(credentials_json) holding a key of type C(service_account).
    type: str
    choices: [json_key, json_key_base64]
    version_added: 1.0.0
notes:
  - Runs on the controller. The V(ecr) provider needs the Python library C(boto3) >= 1.28.0 on the controller; the
    other providers need only the Python standard library (V(gcp) needs C(google-auth)).
  - An identity is the provider with its principal and target (access key ID, client ID, user name, role,
    registry, scopes, endpoint); secrets are part of it only as SHA-256 hashes, so changing a secret mints again.
seealso:
  - module: cloud_registry.auth.registry_login
  - module: cloud_registry.auth.k8s_pull_secret
  - ref: ansible_collections.cloud_registry.auth.docsite.registry_token
    description: Provider by provider setup, caching and security notes (the registry_token guide).
"""

EXAMPLES = r"""
---
- name: Log in to ECR with a token minted once for the whole fleet
  cloud_registry.auth.registry_login:
    registry: "{{ ecr.registry }}"
    username: "{{ ecr.username }}"
    password: "{{ ecr.password }}"
  vars:
    ecr: "{{ lookup('cloud_registry.auth.registry_token', provider='ecr', region='eu-west-1') }}"

- name: Azure Container Registry with a service principal (secret from the vault)
  cloud_registry.auth.registry_login:
    registry: "{{ acr.registry }}"
    username: "{{ acr.username }}"
    password: "{{ acr.password }}"
  vars:
    acr: >-
      {{ lookup('cloud_registry.auth.registry_token', provider='azure', registry='myregistry.azurecr.io',
                tenant_id=azure_tenant, client_id=azure_client_id, client_secret=vault_azure_secret) }}

- name: Alibaba Cloud Enterprise Edition instance, credentials from ~/.alibabacloud/credentials
  ansible.builtin.set_fact:
    acr_cred: >-
      {{ lookup('cloud_registry.auth.registry_token', provider='alibaba',
                registry='myinstance-registry.cn-hangzhou.cr.aliyuncs.com', profile='deploy') }}
  no_log: true

- name: A pull token for one Harbor repository, kept across runs
  ansible.builtin.set_fact:
    harbor_token: >-
      {{ lookup('cloud_registry.auth.registry_token', provider='oauth2', registry='harbor.example.com',
                username='robot$ci', password=vault_harbor_secret, repository='team/app',
                cache_dir='~/.cache/cloud_registry_auth', min_ttl=60) }}
  no_log: true

- name: Google Artifact Registry with Application Default Credentials
  ansible.builtin.set_fact:
    gar: "{{ lookup('cloud_registry.auth.registry_token', 'gcp', registry='europe-docker.pkg.dev') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One dictionary (a list of one with C(wantlist=true) or C(query)).
  type: list
  elements: dict
  contains:
    registry:
      description:
        - Registry host the credential is for, when the provider knows it (ECR C(proxyEndpoint) host, the
          Azure/Alibaba/oauth2 O(registry)), else C(null).
      type: str
      sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    username:
      description:
        - User name to present with RV(_raw[].password) (V(AWS) for ECR, V(00000000-0000-0000-0000-000000000000) for
          Azure, C(cr_temp_user) style names for Alibaba, V(oauth2accesstoken) for Google).
      type: str
      sample: AWS
    password:
      description:
        - The secret (a registry password or token). Never print it; use it in C(no_log) tasks or C(no_log) options.
      type: str
      sample: "********"
    expires_at:
      description: Expiry as ISO 8601 UTC (C(YYYY-MM-DDTHH:MM:SSZ)), or C(null) when the provider gives none.
      type: str
      sample: "2026-01-01T12:00:00Z"
"""

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports  # noqa: E402

with cached_imports():  # every forked worker imports these again: with cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import spawn_reaper
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.token_cache import TokenCache
    from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError
    from ansible_collections.cloud_registry.auth.plugins.module_utils import redact
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.fast_docs import register_options

    # before ansible-core's loader would parse DOCUMENTATION again in this worker (see plugin_utils/fast_docs.py)
    register_options("lookup", __name__, DOCUMENTATION)  # the name ansible-core keeps the definitions under

display = Display()

PROVIDERS = {"gcp": "gcp", "ecr": "ecr", "azure": "azure", "acr": "azure", "alibaba": "alibaba", "oauth2": "oauth2"}
SECRET_OPTIONS = (
    "password",
    "client_secret",
    "aad_access_token",
    "access_key_secret",
    "security_token",
    "aws_secret_access_key",
    "aws_session_token",
    "credentials_json",
    "access_token",
)
# options that are not handed to providers
_CONTROL = ("_terms", "provider", "min_ttl", "cache_dir", "run_cache_dir")


USER_OPTIONS = ("username", "client_id", "access_key_id", "aws_access_key_id")


def _scrub(text, secrets, usernames=()):
    return redact.scrub(text, [v for v in secrets if isinstance(v, str)], usernames)


# secrets the providers read from the environment themselves (as their own tools do)
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)


def _secret_values(options):
    """Every secret value the providers may see, to scrub from messages (belt and braces)."""
    values = [os.environ[name] for name in SECRET_ENV if os.environ.get(name)]
    for name in SECRET_OPTIONS:
        value = options.get(name)
        if isinstance(value, str):
            values.append(value)
            if value.lstrip().startswith("{"):  # credentials JSON as text: its fields too
                try:
                    value = json.loads(value)
                except ValueError:
                    continue
        if isinstance(value, dict):
            values.extend(v for v in value.values() if isinstance(v, str) and len(v) >= 16)
    return values


def load_provider(name):
    module = PROVIDERS.get(name)
    if module is None:
        raise AnsibleError("registry_token: unknown provider %r; use one of: %s" % (name, ", ".join(sorted(PROVIDERS))))
    try:
        with cached_imports():
            return importlib.import_module("ansible_collections.cloud_registry.auth.plugins.module_utils.tokens." + module)
    except ImportError as exc:
        raise AnsibleError(
            "registry_token provider=%s: the provider could not be loaded (%s); install the "
            "Python libraries it needs on the controller" % (name, type(exc).__name__)
        ) from None


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        unknown = sorted(set(kwargs) - set(self._load_option_names()))
        if unknown:
            raise AnsibleError(
                "registry_token: unknown option(s) %s; see ansible-doc -t lookup "
                "cloud_registry.auth.registry_token" % ", ".join(unknown)
            )
        terms = [t for t in (terms or []) if t]
        for given in terms[:1] + [kwargs.get("provider")]:
            if given is not None and given not in PROVIDERS:
                load_provider(str(given))  # raises the clear 'unknown provider' error
        self.set_options(var_options=variables, direct=kwargs)
        provider = self.get_option("provider")
        if terms:
            if len(terms) > 1 or (provider and provider != terms[0]):
                raise AnsibleError("registry_token: give one provider, as the only term or as provider=, not %r" % (terms,))
            provider = terms[0]
        if not provider:
            raise AnsibleError("registry_token: provider is required; use one of: %s" % ", ".join(sorted(PROVIDERS)))
        provider = str(provider)
        module = load_provider(provider)

        options = {}
        for name in self._load_option_names():
            if name in _CONTROL:
                continue
            value = self.get_option(name)
            # an empty string is unset: AWX/AAP injects an optional credential field left empty as "", into the
            # environment variable or extra var that this option reads
            options[name] = None if isinstance(value, str) and not value.strip() else value
        secrets = _secret_values(options)
        users = [options[u] for u in USER_OPTIONS if isinstance(options.get(u), str)] + ["oauth2accesstoken", "<token>"]
        min_ttl = self.get_option("min_ttl")
        if min_ttl is None or int(min_ttl) < 0:
            raise AnsibleError("registry_token: min_ttl must be a number of seconds >= 0")
        min_ttl = int(min_ttl)

        try:
            ident = module.identity(options)
            cache = TokenCache(
                run_base=self.get_option("run_cache_dir"), disk_dir=self.get_option("cache_dir"), reaper=spawn_reaper
            )
            cred = cache.get_or_mint(
                PROVIDERS[provider], ident, lambda: module.mint(options), min_ttl, scrub=lambda text: _scrub(text, secrets, users)
            )
        except TokenError as exc:
            raise AnsibleError(_scrub(str(exc), secrets, users)) from None
        except AnsibleError:
            raise
        except Exception as exc:  # a provider bug must not leak a secret through its message
            raise AnsibleError(
                "registry_token provider=%s: unexpected %s: %s"
                % (provider, type(exc).__name__, _scrub(str(exc), secrets, users)[:300])
            ) from None
        for rejected in cache.rejected:
            display.warning(
                "registry_token: ignored and removed the cache_dir file %s; only files this collection "
                "wrote (0600, yours, with a valid MAC) are used" % rejected
            )
        source = {"run": "the run cache", "disk": "cache_dir", "mint": "a new mint"}[cache.last_source]
        display.vvv(
            "registry_token: provider=%s identity=%s...: credential from %s, expires %s"
            % (provider, cache.display_id(PROVIDERS[provider], ident), source, cred.as_dict()["expires_at"] or "never")
        )
        return [cred.as_dict()]

    def _load_option_names(self):
        try:
            from ansible import constants as C

            defs = C.config.get_configuration_definitions("lookup", self._load_name)
        except Exception:  # pragma: no cover
            defs = {}
        return list(defs) or ["provider"]
