# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Google credentials, shared by the registry_token lookup (provider=gcp) and gcp_secret_iam.
    DOCUMENTATION = r"""
options:
  auth_kind:
    description:
      - How to obtain Google credentials.
      - V(application) uses Application Default Credentials, in this order C(GOOGLE_APPLICATION_CREDENTIALS), the
        file written by C(gcloud auth application-default login), then the metadata server of the host.
      - V(serviceaccount) uses a credentials JSON from O(credentials_file) or O(credentials_json), usually a service
        account key (other ADC JSON types such as C(authorized_user) or C(external_account) work too).
      - V(machineaccount) uses only the metadata server (Compute Engine, GKE, Cloud Run). C(GCE_METADATA_HOST) and
        C(GCE_METADATA_IP) in the controller's environment point google-auth at another metadata server.
      - V(accesstoken) uses O(access_token) as is.
      - When not set, it is V(accesstoken) if O(access_token) is set, V(serviceaccount) if O(credentials_file) or
        O(credentials_json) is set, otherwise V(application).
    type: str
    choices: [application, serviceaccount, machineaccount, accesstoken]
    version_added: 1.0.0
  credentials_file:
    description:
      - Path (on the controller) of a Google credentials JSON file, usually a service account key.
    type: path
    version_added: 1.0.0
  credentials_json:
    description:
      - The content of a Google credentials JSON (text or a dictionary), for example from a vault or an AWX
        credential, instead of O(credentials_file).
    type: raw
    version_added: 1.0.0
  access_token:
    description:
      - An OAuth 2.0 access token to use as is (for example from C(gcloud auth print-access-token)). Its expiry is
        unknown to the collection; it is used until the API refuses it.
      - With O(impersonate_service_account) it is the source credential of the impersonation.
    type: str
    version_added: 1.0.0
  scopes:
    description:
      - OAuth 2.0 scopes of the minted access token.
      - Container Registry pulls only need C(https://www.googleapis.com/auth/devstorage.read_only).
    type: list
    elements: str
    default: [https://www.googleapis.com/auth/cloud-platform]
    version_added: 1.0.0
  impersonate_service_account:
    description:
      - E-mail of a service account to impersonate. The token is minted by the IAM Service Account Credentials API
        C(generateAccessToken) with the credentials above as source; they need
        C(roles/iam.serviceAccountTokenCreator) on the target (or on each delegate in O(delegates)).
    type: str
    version_added: 1.0.0
  delegates:
    description:
      - Delegation chain for O(impersonate_service_account), service account e-mails in order; each one needs
        C(roles/iam.serviceAccountTokenCreator) on the next.
    type: list
    elements: str
    default: []
    version_added: 1.0.0
  universe_domain:
    description:
      - Google Cloud universe domain, for sovereign clouds. For example V(s3nsapis.fr) for S3NS (whose Artifact
        Registry hosts are C(LOCATION-docker.s3nsregistry.fr)). Default V(googleapis.com).
      - API endpoints default to C(https://SERVICE.UNIVERSE_DOMAIN). A service account key of another universe
        carries its own C(universe_domain); a mismatch with this option is an error. Outside the default universe
        google-auth signs self-signed JWTs with the key instead of calling a token endpoint.
    type: str
    version_added: 1.0.0
  token_uri:
    description:
      - Override of the OAuth 2.0 token endpoint written in the credentials JSON (C(token_uri)), for private or
        restricted endpoints (C(private.googleapis.com)) or a test service.
    type: str
    version_added: 1.0.0
  iam_endpoint:
    description:
      - Base URL of the IAM Service Account Credentials API used by O(impersonate_service_account), for example
        C(https://iamcredentials.googleapis.com) (the default, with O(universe_domain) applied) or a regional or
        private endpoint.
    type: str
    version_added: 1.0.0
  service_account_email:
    description:
      - The service account of the metadata server to use with O(auth_kind=machineaccount). Default V(default).
    type: str
    version_added: 1.0.0
notes:
  - Google credentials are built with the Python library C(google-auth) (>= 2.20.0) and C(requests) on the
    controller; they are needed only when a Google credential is used.
  - O(credentials_json) and O(access_token) are secrets; nothing derived from them is printed, not even with
    C(-vvvv).
"""
