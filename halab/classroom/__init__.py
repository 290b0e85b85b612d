"""`halab classroom`: a class on one server, on JupyterHub.

A classroom is one folder (default /srv/halab/classroom, or $HALAB_CLASSROOM_DIR):

    classroom.json      the class: course id, instructor, every student with their uid and lab slot
    passwords.csv       initial passwords of the accounts halab made (the instructor's, mode 0600)
    course/             the instructor's copy of the course (theirs, 0700): nbgrader's source, release,
                        submitted, autograded, feedback and gradebook, and the roster the graders read
    exchange/           nbgrader's exchange (1777): the course's inbound (students write, cannot list),
                        outbound and feedback, made by the instructor's account
    hub/                JupyterHub's own files (root's, 0700): config, database, cookie secret, log

Students are Unix accounts; each has a workspace made by nbgrader (generate_assignment) in their home, and a
lab slot of their own (halab/spec/instances.py) given in roster order and kept for the course, so their labs'
values are theirs all term. The modules: model (the folder and classroom.json), roster (the CSV file),
accounts (Unix accounts), setup (init and add-students), hub (JupyterHub's config and process).
"""
