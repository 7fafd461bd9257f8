"""The agent's and supervisor's pages. Views only parse, call one service or selector, and
render; a refused action is answered by ``common.refusals``.

- ``work``: My work, working a list, the customer screen and saving outcomes
- ``details``: customer details and what is done there
- ``lists``: campaign lists, search, selected customers
"""
