# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  _secrets_file:
    description:
      - Internal, set by the module's action plugin. The secret options reach the module in this file (in the
        task's private remote temporary directory; the module deletes it as soon as it read it) and only
        placeholders as module arguments, so secrets appear in no log, not even ansible-core's own with
        E(ANSIBLE_DEBUG). Do not set it.
    type: path
    version_added: 1.0.0
"""
