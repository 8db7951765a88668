export {
  loadTeacher,
  TEACHER_CHIP,
  TEACHER_DIM,
  LANDMARK_INPUT,
  type TeacherNets,
} from './face-api-teacher.ts';
