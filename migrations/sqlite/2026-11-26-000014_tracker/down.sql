DROP TABLE tracker_rules;
DROP TABLE project_stages;
DROP TABLE improvement_projects;
