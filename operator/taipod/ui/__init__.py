"""The job selector web page (``taipod ui``): Taipy's ``job_selector`` for Kubernetes users.

Pure logic (no Kubernetes imports): ``rows`` (one row per Job resource, the actions its status allows), ``query``
(filters, sort, paging), ``timeline`` (a job's status segments, a submission's Gantt), ``graph`` (the scenario's DAG
laid out). Kubernetes-facing, one job each: ``apiclient`` (requests with the user's credentials), ``jobcache`` (one
list-and-watch of the Job resources, pushed to pages), ``actions`` (cancel, delete), ``details`` (a job's scenario,
submission, pod logs and data nodes). ``auth`` guards the page (token, cookie, CSRF), ``server`` serves it.
"""
